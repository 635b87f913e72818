// A search in words ("区域 华东 · 创建 2026-11-01 ~ 2026-11-30 · 投资额 ≥ 100,000"): what an
// export contains, at a glance.
import { Tag } from "antd";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import type { AuditModel } from "../api/audit";
import { formatNumber, regionName } from "../lib/format";
import type { AuditFilters } from "./filters";
import type { MetaField } from "./metaFields";
import { metaLabel, modelName } from "./models";

export function describeFilters(
  f: AuditFilters,
  t: TFunction,
  lang: string,
  models: AuditModel[],
  fields: MetaField[] | undefined,
): string[] {
  const out: string[] = [];
  const num = (v: string) => (Number.isFinite(Number(v)) ? formatNumber(Number(v), lang) : v);
  if (f.process) out.push(`${t("audit.form.process")} ${modelName(f.process, models, lang)}`);
  if (f.region) out.push(`${t("audit.form.region")} ${regionName(f.region, t)}`);
  if (f.status.length) out.push(`${t("audit.form.status")} ${f.status.map((s) => t(`status.${s}`)).join("/")}`);
  if (f.from || f.to) out.push(`${t("audit.form.dates")} ${f.from || "…"} ~ ${f.to || "…"}`);
  if (f.amountKey && (f.amountMin || f.amountMax)) {
    const label = metaLabel(f.amountKey, fields, t, lang);
    if (f.amountMin && f.amountMax) out.push(`${label} ${num(f.amountMin)} ~ ${num(f.amountMax)}`);
    else if (f.amountMin) out.push(`${label} ≥ ${num(f.amountMin)}`);
    else out.push(`${label} ≤ ${num(f.amountMax)}`);
  }
  for (const [k, v] of f.meta) out.push(`${metaLabel(k, fields, t, lang)} = ${v}`);
  if (f.participant) out.push(`${t("audit.form.participant")} ${f.participant}`);
  if (f.q) out.push(`${t("audit.form.q")} “${f.q}”`);
  return out;
}

export function FilterSummary({
  filters,
  models,
  fields,
}: {
  filters: AuditFilters;
  models: AuditModel[];
  fields?: MetaField[];
}) {
  const { t, i18n } = useTranslation();
  const parts = describeFilters(filters, t, i18n.language, models, fields);
  if (!parts.length) return <span className="audit-filter-summary">{t("audit.export.allRequests")}</span>;
  return (
    <span className="audit-filter-summary">
      {parts.map((p) => (
        <Tag key={p} bordered={false}>
          {p}
        </Tag>
      ))}
    </span>
  );
}

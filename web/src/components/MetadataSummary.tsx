import { Typography } from "antd";
import { useTranslation } from "react-i18next";
import type { Metadata } from "../api";
import type { MetaField } from "../audit/metaFields";
import { pickLanguage } from "../lib/bilingual";
import { fieldName, formatValue } from "../lib/format";

/** The request's business keys (order no., customer, amount...) on one line; with the model's
 * `fields`, names and choices read as its forms title them (补贴类型 建设补贴, not construction). */
export function MetadataSummary({
  metadata,
  max = 4,
  fields,
}: {
  metadata: Metadata;
  max?: number;
  fields?: MetaField[];
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const entries = Object.entries(metadata ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!entries.length) return null;
  return (
    <span className="meta-summary">
      {entries.slice(0, max).map(([key, value]) => {
        const field = fields?.find((f) => f.key === key);
        const label = field && {
          title: field.title ?? fieldName(key, t, lang),
          titleEn: field.titleEn,
          options: field.options,
        };
        return (
          <span key={key} className="meta-item">
            <Typography.Text type="secondary">{fieldName(key, t, lang, label)}</Typography.Text>{" "}
            <span>{pickLanguage(formatValue(value, t, lang, label), lang)}</span>
          </span>
        );
      })}
    </span>
  );
}

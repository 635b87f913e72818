import { Descriptions, Typography } from "antd";
import { useTranslation } from "react-i18next";
import type { JsonObject } from "../api";
import type { FieldLabel } from "../forms/schema";
import { fieldName, formatValue, pickLanguage } from "../lib/format";

/** Form data as label / value pairs, labels taken from the model's forms. */
export function DataList({
  data,
  labels,
  columns,
}: {
  data: JsonObject;
  labels: Map<string, FieldLabel>;
  columns?: number;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const entries = Object.entries(data ?? {});
  if (!entries.length) return <Typography.Text type="secondary">{t("instance.noData")}</Typography.Text>;
  // Fields the forms define first, computed values (totals, DMN results) after.
  const known = entries.filter(([k]) => labels.has(k));
  const rest = entries.filter(([k]) => !labels.has(k));
  return (
    <Descriptions
      size="small"
      bordered
      column={columns ?? { xs: 1, sm: 1, md: 2, lg: 2, xl: 2, xxl: 2 }}
      items={[...known, ...rest].map(([key, value]) => ({
        key,
        label: fieldName(key, t, lang, labels.get(key)),
        children: (
          <span className="data-value">{pickLanguage(formatValue(value, t, lang, labels.get(key)), lang)}</span>
        ),
      }))}
    />
  );
}

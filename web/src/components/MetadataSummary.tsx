import { Typography } from "antd";
import { useTranslation } from "react-i18next";
import type { Metadata } from "../api";
import { fieldName, formatValue } from "../lib/format";

/** The request's business keys (order no., customer, amount...) on one line. */
export function MetadataSummary({ metadata, max = 4 }: { metadata: Metadata; max?: number }) {
  const { t, i18n } = useTranslation();
  const entries = Object.entries(metadata ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!entries.length) return null;
  return (
    <span className="meta-summary">
      {entries.slice(0, max).map(([key, value]) => (
        <span key={key} className="meta-item">
          <Typography.Text type="secondary">{fieldName(key, t, i18n.language)}</Typography.Text>{" "}
          <span>{formatValue(value, t, i18n.language)}</span>
        </span>
      ))}
    </span>
  );
}

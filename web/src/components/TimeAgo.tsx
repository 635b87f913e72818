import { Tooltip } from "antd";
import { useTranslation } from "react-i18next";
import { formatDateTime, formatRelative } from "../lib/time";

/** "3 小时前", with the exact China time on hover/focus and in the accessible name. */
export function TimeAgo({ iso }: { iso: string | null | undefined }) {
  const { i18n } = useTranslation();
  if (!iso) return null;
  const exact = formatDateTime(iso);
  return (
    <Tooltip title={exact}>
      <time dateTime={iso} aria-label={exact} className="time-ago">
        {formatRelative(iso, i18n.language)}
      </time>
    </Tooltip>
  );
}

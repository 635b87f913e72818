// The API's errors as people read them. The server words its 400s in English ("no request
// matches the search: nothing to export"): the known ones get our own words, others are shown
// as the server said them (plainly, never swallowed).
import type { TFunction } from "i18next";
import { ApiError } from "../api/client";
import { MAX_EXPORT } from "./filters";

export function auditErrorText(error: unknown, t: TFunction): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : t("common.error");
  if (error.isNetwork) return t("common.networkError");
  if (error.isForbidden) return t("common.forbidden");
  if (error.isTooLarge) return t("audit.verify.tooLarge");
  if (error.isTooManyRequests) return t("audit.errors.tooMany");
  const m = error.message;
  if (error.status === 400) {
    if (/nothing to export/i.test(m)) return t("audit.export.errors.nothing");
    if (/at most \d+ records/i.test(m)) return t("audit.export.errors.tooMany", { max: MAX_EXPORT });
    if (/may not filter on/i.test(m)) {
      const d = error.details as { value?: unknown } | null;
      const key = typeof d?.value === "string" ? d.value : (/'([^']+)'/.exec(m)?.[1] ?? "");
      return t("audit.errors.hiddenField", { key });
    }
    return t("audit.errors.badRequest", { message: m });
  }
  if (error.status >= 500) return t("audit.errors.server", { message: m });
  return m || t("common.error");
}

// Showing data values to people: numbers with separators (exact digits kept), yes/no, lists.
import type { TFunction } from "i18next";
import type { FieldLabel } from "../forms/schema";

export function formatNumber(n: number, lang: string): string {
  // maximumFractionDigits high enough to never round what the server sent (19.99 stays 19.99).
  return n.toLocaleString(lang, { maximumFractionDigits: 10 });
}

export function formatValue(value: unknown, t: TFunction, lang: string, label?: FieldLabel): string {
  if (label?.options) {
    const option = label.options.get(JSON.stringify(value));
    if (option) return option;
  }
  if (value === null || value === undefined || value === "") return t("common.none");
  if (typeof value === "boolean") return value ? t("common.yes") : t("common.no");
  if (typeof value === "number") return formatNumber(value, lang);
  if (Array.isArray(value))
    return value.length ? value.map((v) => formatValue(v, t, lang)).join("、") : t("common.none");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A field's name in the UI language: the form title (x-title-en in English), else a known key, else the key. */
export function fieldName(key: string, t: TFunction, lang: string, label?: FieldLabel): string {
  if (label) return !lang.startsWith("zh") && label.titleEn ? label.titleEn : label.title;
  // The audit page's list of metadata names is the complete one (every model's extraction keys).
  return t(`meta.${key}`, { defaultValue: t(`audit.meta.${key}`, { defaultValue: key }) });
}

/** Region code -> 华东 / East; unknown codes as they are. */
export function regionName(code: string | null | undefined, t: TFunction): string {
  if (!code) return t("common.none");
  return t(`region.${code}`, { defaultValue: code });
}

export { pickLanguage } from "./bilingual";

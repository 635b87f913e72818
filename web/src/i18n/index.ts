import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import auditEn from "./audit.en.json";
import auditZhCN from "./audit.zh-CN.json";
import en from "./en.json";
import zhCN from "./zh-CN.json";

export const LANGUAGES = ["zh-CN", "en"] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = "zh-CN";
const STORAGE_KEY = "approvals.lang";

export const resources = {
  "zh-CN": { translation: { ...zhCN, ...auditZhCN } },
  en: { translation: { ...en, ...auditEn } },
} as const;

export function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

function storedLanguage(): Language | null {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    return isLanguage(v) ? v : null;
  } catch {
    return null;
  }
}

/** The person's explicit choice wins; otherwise Chinese (the platform's default locale). */
export function initialLanguage(): Language {
  return storedLanguage() ?? DEFAULT_LANGUAGE;
}

export function hasStoredLanguage(): boolean {
  return storedLanguage() !== null;
}

export async function setLanguage(lang: Language, remember = true): Promise<void> {
  if (remember) {
    try {
      globalThis.localStorage?.setItem(STORAGE_KEY, lang);
    } catch {
      // private mode: the choice lasts for this page only
    }
  }
  await i18n.changeLanguage(lang);
}

void i18n.use(initReactI18next).init({
  resources,
  lng: initialLanguage(),
  fallbackLng: DEFAULT_LANGUAGE,
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
});

i18n.on("languageChanged", (lang) => {
  if (typeof document !== "undefined") document.documentElement.lang = lang;
});
if (typeof document !== "undefined") document.documentElement.lang = i18n.language;

export default i18n;

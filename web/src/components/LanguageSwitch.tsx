import { GlobalOutlined } from "@ant-design/icons";
import { Button } from "antd";
import { useTranslation } from "react-i18next";
import { setLanguage } from "../i18n";

/** One press switches 中文 <-> English; the button names the language it switches to. */
export function LanguageSwitch({ compact = false }: { compact?: boolean }) {
  const { t, i18n } = useTranslation();
  const next = i18n.language.startsWith("zh") ? "en" : "zh-CN";
  return (
    <Button
      type="text"
      icon={<GlobalOutlined />}
      onClick={() => void setLanguage(next)}
      aria-label={`${t("lang.switch")}: ${t(`lang.${next}`)}`}
      lang={next}
    >
      {compact ? (next === "en" ? "EN" : "中") : t(`lang.${next}`)}
    </Button>
  );
}

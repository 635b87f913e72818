import { useEffect } from "react";
import { useTranslation } from "react-i18next";

/** "任务 · 新能源审批平台": screen readers announce it and tabs tell pages apart. */
export function usePageTitle(title: string | undefined): void {
  const { t } = useTranslation();
  const app = t("app.name");
  useEffect(() => {
    document.title = title ? `${title} · ${app}` : app;
  }, [title, app]);
}

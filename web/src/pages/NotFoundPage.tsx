import { Result } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

export function NotFoundPage() {
  const { t } = useTranslation();
  return <Result status="404" title={t("common.notFound")} extra={<Link to="/inbox">{t("common.backHome")}</Link>} />;
}

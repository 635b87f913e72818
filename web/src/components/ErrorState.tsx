import { Button, Result } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { ApiError } from "../api";

/** A failed load, said plainly, with a way forward. */
export function ErrorState({ error, onRetry, notFound }: { error: unknown; onRetry?: () => void; notFound?: string }) {
  const { t } = useTranslation();
  const api = error instanceof ApiError ? error : null;
  if (api && (api.isNotFound || api.isForbidden)) {
    return (
      <Result
        status={api.isNotFound ? "404" : "403"}
        title={notFound ?? (api.isForbidden ? t("common.forbidden") : t("common.notFound"))}
        extra={<Link to="/inbox">{t("common.backHome")}</Link>}
      />
    );
  }
  return (
    <Result
      status="warning"
      title={api?.isNetwork ? t("common.networkError") : t("common.error")}
      subTitle={api && !api.isNetwork ? api.message : undefined}
      extra={onRetry && <Button onClick={onRetry}>{t("common.retry")}</Button>}
    />
  );
}

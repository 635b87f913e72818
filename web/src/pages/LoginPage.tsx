import { LockOutlined, ThunderboltFilled, UserOutlined } from "@ant-design/icons";
import { Alert, Button, Card, Form, Input, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, useLocation, useNavigate } from "react-router";
import { ApiError } from "../api";
import { useAuth } from "../auth/AuthContext";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { usePageTitle } from "../lib/usePageTitle";

interface Fields {
  username: string;
  password: string;
}

export function LoginPage() {
  const { t } = useTranslation();
  const { user, expired, signIn } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  usePageTitle(t("login.title"));
  const from = (location.state as { from?: string } | null)?.from ?? "/"; // "/" leads by role (HomeRedirect)
  if (user) return <Navigate to={from} replace />;

  const onFinish = async ({ username, password }: Fields) => {
    setBusy(true);
    setError(null);
    try {
      await signIn(username.trim(), password);
      navigate(from, { replace: true });
    } catch (e) {
      if (!(e instanceof ApiError)) setError(t("common.error"));
      else if (e.isUnauthorized) setError(t("login.failed"));
      else if (e.isTooManyRequests) setError(t("login.locked"));
      else if (e.isNetwork) setError(t("common.networkError"));
      else setError(e.message || t("common.error"));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login-page">
      <div className="login-lang">
        <LanguageSwitch />
      </div>
      <Card className="login-card">
        <div className="login-brand">
          <ThunderboltFilled aria-hidden className="brand-icon large" />
          <Typography.Title level={1} className="login-title">
            {t("app.name")}
          </Typography.Title>
          <Typography.Text type="secondary">{t("login.subtitle")}</Typography.Text>
        </div>
        {expired && !error && (
          <Alert type="info" showIcon message={t("login.sessionExpired")} className="login-alert" />
        )}
        {error && <Alert type="error" showIcon message={error} className="login-alert" role="alert" />}
        <Form<Fields> layout="vertical" requiredMark={false} onFinish={onFinish} size="large" name="login">
          <Form.Item
            name="username"
            label={t("login.username")}
            rules={[{ required: true, message: t("login.usernameRequired") }]}
          >
            <Input
              prefix={<UserOutlined aria-hidden />}
              autoComplete="username"
              autoCapitalize="none"
              autoCorrect="off"
              spellCheck={false}
              autoFocus
            />
          </Form.Item>
          <Form.Item
            name="password"
            label={t("login.password")}
            rules={[{ required: true, message: t("login.passwordRequired") }]}
          >
            <Input.Password prefix={<LockOutlined aria-hidden />} autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy}>
            {t("login.submit")}
          </Button>
        </Form>
      </Card>
    </main>
  );
}

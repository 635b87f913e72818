import { App as AntApp, ConfigProvider, Spin } from "antd";
import enUS from "antd/es/locale/en_US"; // ESM: the CJS antd/locale/* gives {default} under "type": "module"
import zhCN from "antd/es/locale/zh_CN";
import dayjs from "dayjs";
import "dayjs/locale/zh-cn";
import { lazy, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { BrowserRouter, Navigate, Route, Routes, useLocation } from "react-router";
import { HomeRedirect } from "./audit/HomeRedirect";
import { AuthProvider, useAuth } from "./auth/AuthContext";
import { AppShell } from "./components/AppShell";
import { InboxPage } from "./pages/InboxPage";
import { LoginPage } from "./pages/LoginPage";
import { MePage } from "./pages/MePage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { StartPage } from "./pages/StartPage";

// The task and request pages carry the form engine (rjsf, ajv), Markdown and the diagram:
// load them when first opened so the inbox starts fast on a phone.
const TaskPage = lazy(() => import("./pages/TaskPage").then((m) => ({ default: m.TaskPage })));
const InstancePage = lazy(() => import("./pages/InstancePage").then((m) => ({ default: m.InstancePage })));
const AuditPage = lazy(() => import("./pages/AuditPage").then((m) => ({ default: m.AuditPage })));

function RequireAuth({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  const location = useLocation();
  if (user === undefined) return <Spin fullscreen />;
  if (user === null) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return children;
}

export function App() {
  const { i18n } = useTranslation();
  const zh = i18n.language.startsWith("zh");
  dayjs.locale(zh ? "zh-cn" : "en");
  return (
    <ConfigProvider
      locale={zh ? zhCN : enUS}
      // "登录", not antd's "登 录": screen readers and tests read the real word.
      button={{ autoInsertSpace: false }}
      theme={{
        token: {
          colorPrimary: "#1668dc",
          borderRadius: 8,
          fontFamily:
            '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Helvetica Neue", Arial, sans-serif',
        },
      }}
    >
      <AntApp>
        <AuthProvider>
          <BrowserRouter>
            <Routes>
              <Route path="/login" element={<LoginPage />} />
              <Route
                element={
                  <RequireAuth>
                    <AppShell />
                  </RequireAuth>
                }
              >
                <Route index element={<HomeRedirect />} />
                <Route path="inbox" element={<InboxPage />} />
                <Route path="start" element={<StartPage />} />
                <Route path="tasks/:id" element={<TaskPage />} />
                <Route path="requests/:id" element={<InstancePage />} />
                <Route path="audit" element={<AuditPage />} />
                <Route path="me" element={<MePage />} />
                <Route path="*" element={<NotFoundPage />} />
              </Route>
            </Routes>
          </BrowserRouter>
        </AuthProvider>
      </AntApp>
    </ConfigProvider>
  );
}

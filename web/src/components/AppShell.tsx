// The frame around every signed-in page: a header with navigation, the user, the language and
// sign-out on desktops; a compact header and a bottom tab bar on phones (antd-mobile idiom).
import {
  ArrowLeftOutlined,
  AuditOutlined,
  FormOutlined,
  InboxOutlined,
  LogoutOutlined,
  ThunderboltFilled,
  UserOutlined,
} from "@ant-design/icons";
import { Button, Dropdown, Grid, Layout, Menu, Space, Spin, Tag, Typography } from "antd";
import { Suspense } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { useAuth, useUser } from "../auth/AuthContext";
import { regionName } from "../lib/format";
import { LanguageSwitch } from "./LanguageSwitch";
import { NotificationCenter } from "./NotificationCenter";

const NAV = [
  { to: "/inbox", icon: <InboxOutlined />, label: "nav.inbox", short: "nav.inbox" },
  { to: "/start", icon: <FormOutlined />, label: "nav.start", short: "nav.startShort" },
  { to: "/audit", icon: <AuditOutlined />, label: "audit.nav", short: "audit.navShort" },
] as const;

/** Detail pages (a task, a request) take the whole phone screen, with a back arrow. */
const isDetail = (path: string) => /^\/(tasks|requests)\//.test(path);

function UserMenu() {
  const { t } = useTranslation();
  const user = useUser();
  const { signOut } = useAuth();
  const navigate = useNavigate();
  return (
    <Dropdown
      trigger={["click"]}
      menu={{
        items: [
          { key: "who", label: `${user.username}${user.department ? ` · ${user.department}` : ""}`, disabled: true },
          { type: "divider" },
          { key: "out", icon: <LogoutOutlined />, label: t("user.signOut") },
        ],
        onClick: ({ key }) => {
          if (key === "out") void signOut().then(() => navigate("/login"));
        },
      }}
    >
      <Button type="text" aria-label={t("user.menu")} icon={<UserOutlined />}>
        <span className="user-name">{user.display_name}</span>
        <Tag className="region-tag">{regionName(user.region, t)}</Tag>
      </Button>
    </Dropdown>
  );
}

function BottomTabs() {
  const { t } = useTranslation();
  const items = [...NAV, { to: "/me", icon: <UserOutlined />, label: "nav.me", short: "nav.me" }];
  return (
    <nav className="bottom-tabs" aria-label={t("nav.main")}>
      {items.map((item) => (
        <NavLink key={item.to} to={item.to} className={({ isActive }) => (isActive ? "tab active" : "tab")}>
          <span className="tab-icon" aria-hidden>
            {item.icon}
          </span>
          <span>{t(item.short)}</span>
        </NavLink>
      ))}
    </nav>
  );
}

export function AppShell() {
  const { t } = useTranslation();
  const screens = Grid.useBreakpoint();
  const mobile = !screens.md;
  const location = useLocation();
  const navigate = useNavigate();
  const detail = isDetail(location.pathname);
  const selected = NAV.find((n) => location.pathname.startsWith(n.to))?.to;

  return (
    <Layout className={mobile ? "shell mobile" : "shell desktop"}>
      <a href="#main" className="skip-link">
        {t("app.skipToContent")}
      </a>
      <Layout.Header className="app-header">
        {mobile && detail ? (
          <Button
            type="text"
            icon={<ArrowLeftOutlined />}
            onClick={() => (history.length > 1 ? navigate(-1) : navigate("/inbox"))}
          >
            {t("task.back")}
          </Button>
        ) : (
          <Link to="/inbox" className="brand">
            <ThunderboltFilled aria-hidden className="brand-icon" />
            <Typography.Text strong>{mobile ? t("app.shortName") : t("app.name")}</Typography.Text>
          </Link>
        )}
        {!mobile && (
          <nav aria-label={t("nav.main")} className="top-nav">
            <Menu
              mode="horizontal"
              selectedKeys={selected ? [selected] : []}
              items={NAV.map((n) => ({ key: n.to, icon: n.icon, label: <Link to={n.to}>{t(n.label)}</Link> }))}
            />
          </nav>
        )}
        <Space size={4} className="header-actions">
          <NotificationCenter />
          <LanguageSwitch compact={mobile} />
          {!mobile && <UserMenu />}
        </Space>
      </Layout.Header>
      <Layout.Content id="main" tabIndex={-1} className={mobile && !detail ? "app-content with-tabs" : "app-content"}>
        <Suspense fallback={<Spin className="page-spin" />}>
          <Outlet />
        </Suspense>
      </Layout.Content>
      {mobile && !detail && <BottomTabs />}
    </Layout>
  );
}

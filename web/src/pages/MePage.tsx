import { LogoutOutlined } from "@ant-design/icons";
import { Button, Card, Descriptions, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { useAuth, useUser } from "../auth/AuthContext";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { regionName } from "../lib/format";
import { usePageTitle } from "../lib/usePageTitle";

/** The phone's "我的" tab: who I am, language, sign out. */
export function MePage() {
  const { t } = useTranslation();
  const user = useUser();
  const { signOut } = useAuth();
  const navigate = useNavigate();
  usePageTitle(t("user.profile"));
  return (
    <div className="page narrow">
      <Typography.Title level={2}>{user.display_name}</Typography.Title>
      <Card>
        <Descriptions
          column={1}
          size="small"
          items={[
            { key: "u", label: t("login.username"), children: user.username },
            { key: "r", label: t("user.region"), children: regionName(user.region, t) },
            { key: "d", label: t("user.department"), children: user.department ?? t("common.none") },
            { key: "g", label: t("user.groups"), children: user.groups.map((g) => <Tag key={g}>{g}</Tag>) },
            { key: "l", label: t("user.language"), children: <LanguageSwitch /> },
          ]}
        />
      </Card>
      <Button
        danger
        block
        size="large"
        icon={<LogoutOutlined />}
        className="signout"
        onClick={() => void signOut().then(() => navigate("/login"))}
      >
        {t("user.signOut")}
      </Button>
    </div>
  );
}

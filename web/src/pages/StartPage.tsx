import { PlayCircleOutlined } from "@ant-design/icons";
import { App, Button, Card, Col, Empty, Row, Spin, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { api, type InstanceDetail, type ProcessModel, type User } from "../api";
import { useUser } from "../auth/AuthContext";
import { ErrorState } from "../components/ErrorState";
import { pickLanguage } from "../lib/format";
import { useAsync } from "../lib/useAsync";
import { usePageTitle } from "../lib/usePageTitle";

/** The request's first task for its initiator (its start form), if the engine gave one. */
export function firstTaskFor(instance: InstanceDetail, user: User): number | undefined {
  const open = instance.tasks.filter((t) => t.status === "open");
  const mine = open.find((t) => t.assignee === user.username || t.candidate_users.includes(user.username));
  return mine?.id;
}

function groupModels(models: ProcessModel[]): [string, ProcessModel[]][] {
  const groups = new Map<string, ProcessModel[]>();
  for (const m of models) {
    const g = m.group ?? "";
    groups.set(g, [...(groups.get(g) ?? []), m]);
  }
  return [...groups.entries()];
}

export function StartPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { message } = App.useApp();
  const user = useUser();
  const navigate = useNavigate();
  // Only what the person may file (the API says so per model: start_groups).
  const models = useAsync(async () => (await api.processModels()).filter((m) => m.can_start !== false), []);
  const [starting, setStarting] = useState<string | null>(null);
  usePageTitle(t("start.title"));

  const start = async (model: ProcessModel) => {
    setStarting(model.id);
    try {
      const instance = await api.startInstance(model.id);
      message.success(t("start.started", { id: instance.id }));
      const task = firstTaskFor(instance, user);
      navigate(task ? `/tasks/${task}` : `/requests/${instance.id}`);
    } catch (e) {
      message.error(e instanceof Error ? e.message : t("common.error"));
    } finally {
      setStarting(null);
    }
  };

  if (models.error && !models.data) return <ErrorState error={models.error} onRetry={models.reload} />;
  if (!models.data) return <Spin className="page-spin" />;
  return (
    <div className="page start-page">
      <Typography.Title level={1} className="page-title">
        {t("start.title")}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t("start.subtitle")}</Typography.Paragraph>
      {models.data.length === 0 && <Empty description={t("start.empty")} />}
      {groupModels(models.data).map(([group, list], gi) => (
        <section key={group} className="model-group" aria-labelledby={`model-group-${gi}`}>
          <Typography.Title level={2} id={`model-group-${gi}`} className="group-title">
            {group ? pickLanguage(group, lang) : t("start.ungrouped")}
          </Typography.Title>
          <Row gutter={[16, 16]}>
            {list.map((m) => (
              <Col key={m.id} xs={24} md={12} xl={8}>
                <Card
                  className="model-card"
                  title={<h3 className="card-title">{pickLanguage(m.display_name, lang)}</h3>}
                  extra={
                    m.latest_version ? (
                      <Typography.Text type="secondary">
                        {t("start.version", { version: m.latest_version.number })}
                      </Typography.Text>
                    ) : null
                  }
                  actions={[
                    <Button
                      key="start"
                      type="primary"
                      icon={<PlayCircleOutlined />}
                      loading={starting === m.id}
                      disabled={starting !== null && starting !== m.id}
                      onClick={() => void start(m)}
                      aria-label={`${t("start.start")}: ${pickLanguage(m.display_name, lang)}`}
                    >
                      {starting === m.id ? t("start.starting") : t("start.start")}
                    </Button>,
                  ]}
                >
                  <Typography.Paragraph
                    ellipsis={{ rows: 4, expandable: true, symbol: t("common.more") }}
                    className="model-desc"
                  >
                    {pickLanguage(m.description, lang)}
                  </Typography.Paragraph>
                </Card>
              </Col>
            ))}
          </Row>
        </section>
      ))}
    </div>
  );
}

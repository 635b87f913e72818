import { BellOutlined, RollbackOutlined, ShareAltOutlined } from "@ant-design/icons";
import { Alert, App, Button, Card, Col, Flex, Input, List, Modal, Row, Space, Spin, Tag, Typography } from "antd";
import { lazy, Suspense, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { api, ApiError, type InstanceDetail, type Task, type User } from "../api";
import { useUser } from "../auth/AuthContext";
import { Comments } from "../components/Comments";
import { DataList } from "../components/DataList";
import { ErrorState } from "../components/ErrorState";
import { InstanceTimeline } from "../components/InstanceTimeline";
import { personText } from "../components/Person";
import { RequestSummary } from "../components/RequestSummary";
import { InstanceStatusTag, SlaTag } from "../components/Tags";
import { TimeAgo } from "../components/TimeAgo";
import { pickLanguage, regionName } from "../lib/format";
import { useFieldLabels, useModel } from "../lib/modelFiles";
import { formatDateTime } from "../lib/time";
import { useAsync } from "../lib/useAsync";
import { usePageTitle } from "../lib/usePageTitle";
import { CcDialog, UrgeDialog } from "../task/ActionDialogs";
import { instanceActions } from "../task/actions";

// bpmn-js is large: load it only when a request page is opened.
const BpmnDiagram = lazy(() => import("../components/BpmnDiagram"));

const WITHDRAWABLE = new Set(["running", "waiting", "error"]);

function WithdrawButton({ instance, onDone }: { instance: InstanceDetail; onDone: (i: InstanceDetail) => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const reasonId = useId();
  const confirm = async () => {
    setBusy(true);
    try {
      onDone(await api.withdraw(instance.id, reason.trim()));
      message.success(t("instance.withdrawn"));
      setOpen(false);
    } catch (e) {
      message.error(
        e instanceof ApiError && e.isForbidden
          ? t("common.forbidden")
          : e instanceof Error
            ? e.message
            : t("common.error"),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button danger icon={<RollbackOutlined />} onClick={() => setOpen(true)}>
        {t("instance.withdraw")}
      </Button>
      <Modal
        open={open}
        title={t("instance.withdrawTitle")}
        okText={t("instance.withdrawConfirm")}
        okButtonProps={{ danger: true, loading: busy }}
        cancelText={t("common.cancel")}
        onOk={() => void confirm()}
        onCancel={() => setOpen(false)}
        destroyOnHidden
      >
        <label htmlFor={reasonId}>{t("instance.withdrawReason")}</label>
        <Input.TextArea
          id={reasonId}
          rows={3}
          maxLength={2000}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          placeholder={t("instance.withdrawReasonPlaceholder")}
        />
      </Modal>
    </>
  );
}

function OpenTasks({ tasks }: { tasks: Task[] }) {
  const { t } = useTranslation();
  if (!tasks.length) return <Typography.Text type="secondary">{t("instance.noOpenTasks")}</Typography.Text>;
  return (
    <List
      size="small"
      dataSource={tasks}
      renderItem={(task) => (
        <List.Item
          actions={[
            <Link key="go" to={`/tasks/${task.id}`}>
              {t("inbox.view")}
            </Link>,
          ]}
        >
          <List.Item.Meta
            title={
              <Flex gap={6} wrap align="center">
                <span>{task.name}</span>
                {task.lane && <Tag>{task.lane}</Tag>}
                <SlaTag state={task.sla_state} />
              </Flex>
            }
            description={
              <span>
                {/* People when named; otherwise the step's lane (the group) says who, shown as a tag above. */}
                {(task.assignee
                  ? [personText(task.assignee, task.assignee_name)]
                  : task.candidate_users.map((u, i) => personText(u, task.candidate_user_names?.[i]))
                )
                  .map((u) => `${u} · `)
                  .join("")}
                {regionName(task.region, t)} · <TimeAgo iso={task.created_at} />
              </span>
            }
          />
        </List.Item>
      )}
    />
  );
}

/** 催办 and 抄送 on the request: small dialogs, then the history shows them. */
function RequestActions({ instance, user, onDone }: { instance: InstanceDetail; user: User; onDone: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [dialog, setDialog] = useState<"urge" | "cc" | null>(null);
  const can = instanceActions(instance, user);
  if (!can.urge && !can.cc) return null;
  const common = {
    onClose: () => setDialog(null),
    onConflict: () => {
      setDialog(null);
      message.warning(t("actions.conflict"));
      onDone();
    },
    onDone: (summary: string) => {
      setDialog(null);
      message.success(summary);
      onDone();
    },
  };
  return (
    <>
      {can.urge && (
        <Button icon={<BellOutlined aria-hidden />} onClick={() => setDialog("urge")}>
          {t("actions.urge.button")}
        </Button>
      )}
      {can.cc && (
        <Button icon={<ShareAltOutlined aria-hidden />} onClick={() => setDialog("cc")}>
          {t("actions.cc.button")}
        </Button>
      )}
      <UrgeDialog {...common} open={dialog === "urge"} run={(comment) => api.urgeInstance(instance.id, comment)} />
      <CcDialog
        {...common}
        open={dialog === "cc"}
        me={user.username}
        run={(users, comment) => api.ccInstance(instance.id, users, comment)}
      />
    </>
  );
}

export function InstancePage() {
  const { t, i18n } = useTranslation();
  const user = useUser();
  const id = Number(useParams().id);
  const { data: instance, error, reload, setData } = useAsync(() => api.instance(id), [id]);
  const labels = useFieldLabels(instance?.process_model_id);
  const model = useModel(instance?.process_model_id);
  usePageTitle(instance ? `${pickLanguage(instance.title, i18n.language)} #${instance.id}` : t("instance.title"));

  if (error && !instance) return <ErrorState error={error} onRetry={reload} notFound={t("instance.notFound")} />;
  if (!instance) return <Spin className="page-spin" />;
  const open = instance.tasks.filter((x) => x.status === "open");
  const canWithdraw = instance.initiator === user.username && WITHDRAWABLE.has(instance.status);
  const bpmnFile = model?.primary_file_name ? model.files?.[model.primary_file_name] : undefined;
  const latest = model?.latest_version?.number;
  const done = new Set(
    instance.timeline.filter((e) => e.type === "task_completed" && e.bpmn_id).map((e) => e.bpmn_id as string),
  );

  return (
    <div className="page instance-page">
      <header className="page-header">
        <Flex gap={8} align="center" wrap justify="space-between">
          <Flex gap={8} align="center" wrap>
            <Typography.Title level={1} className="page-title">
              {pickLanguage(instance.title, i18n.language)} <span className="muted">#{instance.id}</span>
            </Typography.Title>
            <InstanceStatusTag status={instance.status} />
          </Flex>
          <Space wrap size={8}>
            <RequestActions instance={instance} user={user} onDone={reload} />
            {canWithdraw && <WithdrawButton instance={instance} onDone={setData} />}
          </Space>
        </Flex>
      </header>
      {instance.status === "error" && instance.error != null && (
        <Alert
          type="error"
          showIcon
          message={t("instance.error")}
          description={JSON.stringify(instance.error)}
          className="block"
        />
      )}
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={15}>
          <Flex vertical gap={16}>
            <Card size="small" title={<h2 className="card-title">{t("task.summary")}</h2>}>
              <RequestSummary
                instanceId={instance.id}
                title={instance.title}
                region={instance.region}
                metadata={instance.metadata}
                instance={instance}
                labels={labels}
                onInstancePage
              />
              {instance.completed_at && (
                <Typography.Text type="secondary">
                  {t("instance.completed")}: {formatDateTime(instance.completed_at)}
                </Typography.Text>
              )}
            </Card>
            <Card size="small" title={<h2 className="card-title">{t("instance.currentTasks")}</h2>}>
              <OpenTasks tasks={open} />
            </Card>
            <Card size="small" title={<h2 className="card-title">{t("instance.data")}</h2>}>
              <DataList data={instance.data} labels={labels} />
            </Card>
            <Card size="small" title={<h2 className="card-title">{t("comments.title")}</h2>} className="comments-card">
              <Comments
                instanceId={instance.id}
                canComment={instanceActions(instance, user).comment}
                onPosted={reload}
              />
            </Card>
            {bpmnFile && (
              <Card size="small" title={<h2 className="card-title">{t("instance.diagram")}</h2>}>
                {latest !== undefined && instance.version != null && latest !== instance.version && (
                  <Alert
                    type="info"
                    showIcon
                    message={t("instance.diagramOlder", { latest, version: instance.version })}
                    className="block"
                  />
                )}
                <Suspense fallback={<Spin />}>
                  <BpmnDiagram xml={bpmnFile} done={[...done]} active={open.map((x) => x.bpmn_id)} />
                </Suspense>
              </Card>
            )}
          </Flex>
        </Col>
        <Col xs={24} lg={9}>
          <Card size="small" title={<h2 className="card-title">{t("instance.timeline")}</h2>} className="timeline-card">
            <InstanceTimeline events={instance.timeline} labels={labels} openTasks={open} />
          </Card>
        </Col>
      </Row>
    </div>
  );
}

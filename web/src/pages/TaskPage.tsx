// One task: the request's summary, the instructions, the form, and the history beside it.
// Actions the API does not offer yet (claim, transfer, send back, CC, comments, attachments)
// get their own places here when it does; nothing is shown that cannot work today.
import { Alert, App, Button, Card, Col, Flex, Row, Spin, Tag, Typography } from "antd";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { api, ApiError, type InstanceDetail, type JsonObject, type TaskDetail } from "../api";
import { ErrorState } from "../components/ErrorState";
import { InstanceTimeline } from "../components/InstanceTimeline";
import { Markdown } from "../components/Markdown";
import { RequestSummary } from "../components/RequestSummary";
import { SlaTag, TaskStatusTag } from "../components/Tags";
import { serverErrorsFrom, TaskForm } from "../forms/TaskForm";
import { lastInboxUrl } from "../inbox/lastInbox";
import { useFieldLabels } from "../lib/modelFiles";
import type { ServerFieldError } from "../lib/pointer";
import { formatDateTime } from "../lib/time";
import { useAsync } from "../lib/useAsync";
import { usePageTitle } from "../lib/usePageTitle";

interface Loaded {
  task: TaskDetail;
  instance: InstanceDetail | null;
}

async function loadTask(id: number): Promise<Loaded> {
  const task = await api.task(id);
  // The history is a bonus: a task the caller may see but whose request they may not still opens.
  const instance = await api.instance(task.process_instance_id).catch(() => null);
  return { task, instance };
}

function TaskState({ task }: { task: TaskDetail }) {
  const { t } = useTranslation();
  if (task.status === "completed") {
    return (
      <Alert
        type="success"
        showIcon
        message={t("task.completedBy", { user: task.completed_by ?? "", time: formatDateTime(task.completed_at) })}
      />
    );
  }
  if (task.status !== "open") return <Alert type="info" showIcon message={t("task.closed")} />;
  if (!task.allowed_actions.includes("complete")) return <Alert type="info" showIcon message={t("task.readOnly")} />;
  return null;
}

export function TaskPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const id = Number(useParams().id);
  const { data, error, reload } = useAsync(() => loadTask(id), [id]);
  const labels = useFieldLabels(data?.task.process_model_id);
  const [submitting, setSubmitting] = useState(false);
  const [serverErrors, setServerErrors] = useState<ServerFieldError[]>([]);
  const [conflict, setConflict] = useState(false);
  const conflictRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (conflict) conflictRef.current?.scrollIntoView({ block: "center", behavior: "smooth" });
  }, [conflict]);
  usePageTitle(data?.task.name ?? t("task.title"));

  if (error && !data) return <ErrorState error={error} onRetry={reload} notFound={t("task.notFound")} />;
  if (!data) return <Spin className="page-spin" />;
  const { task, instance } = data;
  const canAct = task.status === "open" && task.allowed_actions.includes("complete") && !conflict;

  const submit = async (formData: JsonObject) => {
    setSubmitting(true);
    setServerErrors([]);
    try {
      await api.completeTask(task.id, formData);
      message.success(t("task.submitted", { name: task.name }));
      navigate(lastInboxUrl());
    } catch (e) {
      if (e instanceof ApiError && e.isValidation && e.fieldErrors.length) {
        setServerErrors(serverErrorsFrom(e.fieldErrors, formData));
      } else if (e instanceof ApiError && e.isConflict) {
        setConflict(true);
        message.warning(t("task.alreadyHandled"));
        reload(); // show who handled it and when
      } else if (e instanceof ApiError && e.isForbidden) {
        message.error(t("task.forbidden"));
      } else if (e instanceof ApiError && e.isNetwork) {
        message.error(t("common.networkError"));
      } else {
        message.error(e instanceof Error ? e.message : t("common.error"));
      }
      throw e;
    } finally {
      setSubmitting(false);
    }
  };

  const openTasks = instance?.tasks.filter((x) => x.status === "open") ?? [];
  return (
    <div className="page task-page">
      <header className="page-header">
        <Flex gap={8} align="center" wrap>
          <Typography.Title level={1} className="page-title">
            {task.name}
          </Typography.Title>
          <TaskStatusTag status={task.status} />
          {task.lane && <Tag>{task.lane}</Tag>}
          <SlaTag state={task.sla_state} />
        </Flex>
        {task.due_at && (
          <Typography.Text type="secondary">
            {t("task.due")}: {formatDateTime(task.due_at)}
          </Typography.Text>
        )}
      </header>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={15}>
          <Flex vertical gap={16}>
            <Card size="small" title={<h2 className="card-title">{t("task.summary")}</h2>}>
              <RequestSummary
                instanceId={task.process_instance_id}
                title={task.process_title}
                region={task.region}
                metadata={instance?.metadata ?? task.metadata}
                instance={instance ?? undefined}
                labels={labels}
              />
            </Card>
            {task.instructions && (
              <Card size="small" title={<h2 className="card-title">{t("task.instructions")}</h2>}>
                <Markdown text={task.instructions} />
              </Card>
            )}
            <Card size="small" title={<h2 className="card-title">{t("task.form")}</h2>} className="form-card">
              <Flex vertical gap={12}>
                <TaskState task={task} />
                {conflict && (
                  <div ref={conflictRef}>
                    <Alert
                      type="warning"
                      showIcon
                      role="alert"
                      message={t("task.alreadyHandled")}
                      description={t("task.alreadyHandledDetail")}
                      action={
                        <Button size="small" onClick={() => navigate(lastInboxUrl())}>
                          {t("task.back")}
                        </Button>
                      }
                    />
                  </div>
                )}
                {(task.status === "open" || task.form?.schema) && (
                  <TaskForm
                    key={`${task.id}`}
                    task={task}
                    canAct={canAct}
                    onSubmit={submit}
                    submitting={submitting}
                    serverErrors={serverErrors}
                    setServerErrors={setServerErrors}
                  />
                )}
              </Flex>
            </Card>
          </Flex>
        </Col>
        <Col xs={24} lg={9}>
          <Card
            size="small"
            title={<h2 className="card-title">{t("instance.timeline")}</h2>}
            extra={<Link to={`/requests/${task.process_instance_id}`}>{t("task.viewRequest")}</Link>}
            className="timeline-card"
          >
            {instance ? (
              <InstanceTimeline events={instance.timeline} labels={labels} openTasks={openTasks} />
            ) : (
              <Typography.Text type="secondary">{t("event.empty")}</Typography.Text>
            )}
          </Card>
        </Col>
      </Row>
    </div>
  );
}

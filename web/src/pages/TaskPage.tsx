// One task: the request's summary, the instructions, the form with its action bar (save draft,
// transfer, add approver, send back, CC, urge, comment — only what `allowed_actions` lists),
// the comments, and the history beside it.
import {
  BellOutlined,
  CommentOutlined,
  SaveOutlined,
  ShareAltOutlined,
  SwapOutlined,
  UndoOutlined,
  UsergroupAddOutlined,
} from "@ant-design/icons";
import { Alert, App, Button, Card, Col, Flex, List, Row, Spin, Tag, Typography } from "antd";
import type { TFunction } from "i18next";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { api, ApiError, type InstanceDetail, type JsonObject, type Task, type TaskDetail } from "../api";
import { useUser } from "../auth/AuthContext";
import { Comments } from "../components/Comments";
import { ErrorState } from "../components/ErrorState";
import { InstanceTimeline } from "../components/InstanceTimeline";
import { Markdown } from "../components/Markdown";
import { peopleText, personText } from "../components/Person";
import { RequestSummary } from "../components/RequestSummary";
import { SlaTag, TaskStatusTag } from "../components/Tags";
import { serverErrorsFrom, TaskForm, type TaskFormHandle } from "../forms/TaskForm";
import { lastInboxUrl } from "../inbox/lastInbox";
import { useFieldLabels } from "../lib/modelFiles";
import type { ServerFieldError } from "../lib/pointer";
import { formatDateTime } from "../lib/time";
import { useAsync } from "../lib/useAsync";
import { usePageTitle } from "../lib/usePageTitle";
import { actionErrorMessage, actionSet, addedApprovers, type BarAction } from "../task/actions";
import { AddApproverDialog, CcDialog, SendBackDialog, TransferDialog, UrgeDialog } from "../task/ActionDialogs";

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
        message={t("task.completedBy", {
          user: personText(task.completed_by, task.completed_by_name),
          time: formatDateTime(task.completed_at),
        })}
      />
    );
  }
  if (task.status === "on_hold") return null; // the on-hold notice says it
  if (task.status !== "open") return <Alert type="info" showIcon message={t("task.closed")} />;
  if (!task.allowed_actions.includes("complete") && !task.allowed_actions.includes("claim"))
    return <Alert type="info" showIcon message={t("task.readOnly")} />;
  return null;
}

/** Who an added approver is and where their opinion stands. */
function addedLine(x: Task, t: TFunction): string {
  const who = x.assignee
    ? personText(x.assignee, x.assignee_name)
    : peopleText(x.candidate_users, x.candidate_user_names, "、");
  const state =
    x.status === "open" ? t("onHold.waiting") : x.outcome ? t(`outcome.${x.outcome}`) : t(`status.${x.status}`);
  return `${who} · ${state}`;
}

/** 等待加签人意见: my task waits for the people I asked. */
function OnHoldNotice({ task, tasks }: { task: TaskDetail; tasks: Task[] }) {
  const { t } = useTranslation();
  const added = (task.added_approvers ?? addedApprovers(task.id, tasks)).filter((x) => x.status !== "cancelled");
  const first = added[0];
  return (
    <Alert
      type="warning"
      showIcon
      message={t("onHold.title")}
      description={
        <Flex vertical gap={4}>
          {first?.add_position && (
            <span>
              {t(`addApprover.position.${first.add_position}`)}
              {first.add_sign && added.length > 1 ? ` · ${t(`addApprover.sign.${first.add_sign}`)}` : ""}
            </span>
          )}
          {added.length > 0 ? (
            <List
              size="small"
              className="added-list"
              dataSource={added}
              renderItem={(x) => (
                <List.Item>
                  <span>{addedLine(x, t)}</span>
                </List.Item>
              )}
            />
          ) : (
            <span>{t("onHold.unknown")}</span>
          )}
        </Flex>
      }
    />
  );
}

/** An added approver's own task: who asked, and how their opinion counts. */
function AddedNotice({ task }: { task: TaskDetail }) {
  const { t } = useTranslation();
  if (task.kind !== "added") return null;
  const how = [
    task.add_position ? t(`addApprover.position.${task.add_position}`) : null,
    task.add_sign ? t(`addApprover.sign.${task.add_sign}`) : null,
  ].filter(Boolean);
  return (
    <Alert
      type="info"
      showIcon
      message={t("added.title", {
        user: task.added_by ? personText(task.added_by, task.added_by_name) : t("common.none"),
      })}
      description={how.length ? how.join(" · ") : undefined}
    />
  );
}

const BAR_ICONS: Record<BarAction, ReactNode> = {
  transfer: <SwapOutlined aria-hidden />,
  "add-approver": <UsergroupAddOutlined aria-hidden />,
  "send-back": <UndoOutlined aria-hidden />,
  cc: <ShareAltOutlined aria-hidden />,
  urge: <BellOutlined aria-hidden />,
  comment: <CommentOutlined aria-hidden />,
};

const BAR_LABELS: Record<BarAction, string> = {
  transfer: "actions.transfer.button",
  "add-approver": "actions.addApprover.button",
  "send-back": "actions.sendBack.button",
  cc: "actions.cc.button",
  urge: "actions.urge.button",
  comment: "actions.commentButton",
};

export function TaskPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const user = useUser();
  const id = Number(useParams().id);
  const { data, error, reload } = useAsync(() => loadTask(id), [id]);
  const labels = useFieldLabels(data?.task.process_model_id);
  const [submitting, setSubmitting] = useState(false);
  const [serverErrors, setServerErrors] = useState<ServerFieldError[]>([]);
  const [conflict, setConflict] = useState(false);
  const [dialog, setDialog] = useState<BarAction | null>(null);
  const [busy, setBusy] = useState<"draft" | "claim" | "unclaim" | null>(null);
  const [draftAt, setDraftAt] = useState<string | null>(null);
  /** Bumped to re-open the form (e.g. dropping a draft for the task's own data). */
  const [formKey, setFormKey] = useState(0);
  const [useDraft, setUseDraft] = useState(true);
  const formHandle = useRef<TaskFormHandle>(null);
  const commentBox = useRef<HTMLTextAreaElement>(null);
  const conflictRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (conflict) conflictRef.current?.scrollIntoView({ block: "center", behavior: "smooth" });
  }, [conflict]);
  useEffect(() => setDraftAt(data?.task.draft?.saved_at ?? null), [data?.task.draft?.saved_at]);
  usePageTitle(data?.task.name ?? t("task.title"));

  if (error && !data) return <ErrorState error={error} onRetry={reload} notFound={t("task.notFound")} />;
  if (!data) return <Spin className="page-spin" />;
  const { task, instance } = data;
  const actions = actionSet(task, conflict);
  const canAct = actions.complete;
  const draft = task.draft && useDraft ? task.draft : null;

  const onConflict = () => {
    setDialog(null);
    setConflict(true);
    message.warning(t("task.alreadyHandled"));
    reload(); // show who handled it and when
  };

  /** Errors of the quick actions (claim, draft...): said once, a 409 handled as everywhere. */
  const failed = (e: unknown) => {
    if (e instanceof ApiError && e.isConflict) onConflict();
    else message.error(actionErrorMessage(e, t));
  };

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
        reload();
      } else if (e instanceof ApiError && e.isForbidden) {
        message.error(t("task.forbidden"));
      } else {
        message.error(actionErrorMessage(e, t));
      }
      throw e;
    } finally {
      setSubmitting(false);
    }
  };

  const saveDraft = async () => {
    const formData = formHandle.current?.data() ?? {};
    setBusy("draft");
    try {
      const saved = await api.saveDraft(task.id, formData);
      setDraftAt(saved?.saved_at ?? new Date().toISOString());
      message.success(t("draft.saved"));
    } catch (e) {
      failed(e);
    } finally {
      setBusy(null);
    }
  };

  const claim = async (action: "claim" | "unclaim") => {
    setBusy(action);
    try {
      await (action === "claim" ? api.claim(task.id) : api.unclaim(task.id));
      message.success(action === "claim" ? t("claim.claimed") : t("claim.released"));
      reload();
    } catch (e) {
      failed(e);
    } finally {
      setBusy(null);
    }
  };

  /** After an action that takes the task away from me: back to the inbox; otherwise stay. */
  const done = (leave: boolean) => (summary: string) => {
    setDialog(null);
    message.success(summary);
    if (leave) navigate(lastInboxUrl());
    else reload();
  };

  const openBar = (action: BarAction) => {
    if (action === "comment") {
      commentBox.current?.scrollIntoView({ block: "center", behavior: "smooth" });
      commentBox.current?.focus({ preventScroll: true });
      return;
    }
    setDialog(action);
  };

  const openTasks = instance?.tasks.filter((x) => x.status === "open") ?? [];
  const canComment = task.allowed_actions.includes("comment");
  const common = { onClose: () => setDialog(null), onConflict };
  return (
    <div className="page task-page">
      <header className="page-header">
        <Flex gap={8} align="center" wrap>
          <Typography.Title level={1} className="page-title">
            {task.name}
          </Typography.Title>
          <TaskStatusTag status={task.status} />
          {task.kind === "added" && <Tag color="purple">{t("added.tag")}</Tag>}
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
            {(actions.claim || actions.unclaim) && (
              <Alert
                type={actions.claim ? "info" : "success"}
                showIcon
                className="claim-banner"
                message={
                  actions.claim
                    ? t("claim.groupTask", { groups: task.lane ?? task.candidate_groups.join("、") })
                    : t("claim.mine")
                }
                description={actions.claim ? t("claim.help") : undefined}
                action={
                  actions.claim ? (
                    <Button type="primary" loading={busy === "claim"} onClick={() => void claim("claim")}>
                      {t("claim.claim")}
                    </Button>
                  ) : (
                    <Button loading={busy === "unclaim"} onClick={() => void claim("unclaim")}>
                      {t("claim.release")}
                    </Button>
                  )
                }
              />
            )}
            <Card size="small" title={<h2 className="card-title">{t("task.form")}</h2>} className="form-card">
              <Flex vertical gap={12}>
                <TaskState task={task} />
                <AddedNotice task={task} />
                {task.status === "on_hold" && <OnHoldNotice task={task} tasks={instance?.tasks ?? []} />}
                {canAct && draftAt && (
                  <Alert
                    type="info"
                    showIcon
                    className="draft-note"
                    message={t("draft.savedAt", { time: formatDateTime(draftAt) })}
                    action={
                      draft && (
                        <Button
                          size="small"
                          type="link"
                          onClick={() => {
                            setUseDraft(false);
                            setDraftAt(null);
                            setFormKey((k) => k + 1);
                          }}
                        >
                          {t("draft.discard")}
                        </Button>
                      )
                    }
                  />
                )}
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
                    key={`${task.id}-${formKey}`}
                    task={task}
                    canAct={canAct}
                    initialData={draft?.data}
                    handle={formHandle}
                    secondary={
                      actions.saveDraft ? (
                        <Button
                          size="large"
                          icon={<SaveOutlined aria-hidden />}
                          loading={busy === "draft"}
                          onClick={() => void saveDraft()}
                          className="draft-button"
                        >
                          {t("draft.save")}
                        </Button>
                      ) : undefined
                    }
                    onSubmit={submit}
                    submitting={submitting}
                    serverErrors={serverErrors}
                    setServerErrors={setServerErrors}
                  />
                )}
              </Flex>
            </Card>
            {actions.bar.length > 0 && (
              <Card size="small" title={<h2 className="card-title">{t("actions.title")}</h2>}>
                <div className="action-bar" role="group" aria-label={t("actions.title")}>
                  {actions.bar.map((a) => (
                    <Button
                      key={a}
                      icon={BAR_ICONS[a]}
                      danger={a === "send-back"}
                      onClick={() => openBar(a)}
                      className="action-button"
                    >
                      {t(BAR_LABELS[a])}
                    </Button>
                  ))}
                </div>
              </Card>
            )}
            <Card size="small" title={<h2 className="card-title">{t("comments.title")}</h2>} className="comments-card">
              <Comments
                ref={commentBox}
                instanceId={task.process_instance_id}
                taskId={task.id}
                canComment={canComment}
                onPosted={reload}
              />
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
      <TransferDialog
        {...common}
        open={dialog === "transfer"}
        taskId={task.id}
        me={user.username}
        onDone={done(true)}
      />
      <AddApproverDialog
        {...common}
        open={dialog === "add-approver"}
        taskId={task.id}
        me={user.username}
        formData={() => formHandle.current?.data() ?? {}}
        validateForm={() => formHandle.current?.validate() ?? true}
        onValidation={(e, sent) => {
          setDialog(null);
          setServerErrors(serverErrorsFrom(e.fieldErrors, sent));
        }}
        onDone={done(false)}
      />
      <SendBackDialog {...common} open={dialog === "send-back"} taskId={task.id} onDone={done(true)} />
      <CcDialog
        {...common}
        open={dialog === "cc"}
        me={user.username}
        run={(users, comment) => api.ccTask(task.id, users, comment)}
        onDone={done(false)}
      />
      <UrgeDialog
        {...common}
        open={dialog === "urge"}
        run={(comment) => api.urgeTask(task.id, comment)}
        onDone={done(false)}
      />
    </div>
  );
}

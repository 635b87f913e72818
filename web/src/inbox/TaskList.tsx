import { RightOutlined } from "@ant-design/icons";
import { Button, Card, Checkbox, Flex, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import type { Task } from "../api";
import { useMetaFields } from "../audit/models";
import { MetadataSummary } from "../components/MetadataSummary";
import { personText } from "../components/Person";
import { SlaTag } from "../components/Tags";
import { TimeAgo } from "../components/TimeAgo";
import { pickLanguage, regionName } from "../lib/format";
import { formatDateTime } from "../lib/time";
import { outcomeKey } from "../task/actions";

function Due({ task }: { task: Task }) {
  const { t } = useTranslation();
  if (!task.due_at && !task.sla_state) return <Typography.Text type="secondary">{t("common.none")}</Typography.Text>;
  return (
    <Flex gap={4} wrap align="center">
      <SlaTag state={task.sla_state} />
      {task.due_at && (
        <Typography.Text type="secondary">
          <time dateTime={task.due_at}>{formatDateTime(task.due_at)}</time>
        </Typography.Text>
      )}
    </Flex>
  );
}

/** Unread: a dot the eye catches, and the words for a screen reader. */
export function UnreadMark({ unread }: { unread?: boolean }) {
  const { t } = useTranslation();
  if (!unread) return null;
  return (
    <>
      <span className="unread-dot" aria-hidden />
      <span className="sr-only">{t("inbox.unread")}</span>
    </>
  );
}

/** How a closed task ended (已退回, 同意...), or nothing for a plain completion. */
export function OutcomeTag({ task }: { task: Task }) {
  const { t } = useTranslation();
  const key = outcomeKey(task);
  if (!key) return null;
  const color =
    task.outcome === "sent_back"
      ? "orange"
      : task.outcome === "reject"
        ? "red"
        : task.outcome === "approve"
          ? "green"
          : "default";
  return <Tag color={color}>{t(key)}</Tag>;
}

export function KindTag({ task }: { task: Task }) {
  const { t } = useTranslation();
  return task.kind === "added" ? <Tag color="purple">{t("added.tag")}</Tag> : null;
}

/** An added approver's task (加签): who asks for the opinion, by name. */
function AskedBy({ task, className }: { task: Task; className: string }) {
  const { t } = useTranslation();
  if (task.kind !== "added" || !task.added_by) return null;
  return <div className={className}>{t("added.title", { user: personText(task.added_by, task.added_by_name) })}</div>;
}

export interface ListControls {
  /** Batch approval: which tasks are ticked (only batch_approvable ones can be). */
  selection?: { selected: number[]; onChange: (ids: number[]) => void };
  /** The group tab: claim straight from the list. */
  onClaim?: (task: Task) => void;
  claiming?: number | null;
}

/** Phones: one card per task; the task's text is the link, a checkbox or a claim button beside it. */
export function TaskCards({
  tasks,
  done,
  selection,
  onClaim,
  claiming,
}: { tasks: Task[]; done: boolean } & ListControls) {
  const { t, i18n } = useTranslation();
  const fields = useMetaFields(tasks.map((task) => task.process_model_id));
  return (
    <ul className="card-list" aria-label={t("inbox.title")}>
      {tasks.map((task) => {
        const name = task.name;
        const ticked = selection?.selected.includes(task.id) ?? false;
        return (
          <li key={task.id}>
            <Card
              size="small"
              className={["item-card", task.unread ? "unread" : "", onClaim ? "with-action" : ""].join(" ").trim()}
            >
              <Flex align="start" gap={10}>
                {selection && task.batch_approvable && (
                  <Checkbox
                    className="item-check"
                    checked={ticked}
                    aria-label={t("batch.select", { name })}
                    onChange={(e) =>
                      selection.onChange(
                        e.target.checked
                          ? [...selection.selected, task.id]
                          : selection.selected.filter((id) => id !== task.id),
                      )
                    }
                  />
                )}
                <Link to={`/tasks/${task.id}`} className="card-link item-link">
                  <Flex justify="space-between" align="start" gap={8}>
                    <div className="item-main">
                      <Flex gap={6} align="center" wrap>
                        <UnreadMark unread={task.unread} />
                        <Typography.Text strong className="item-title">
                          {name}
                        </Typography.Text>
                        <KindTag task={task} />
                        {done && <OutcomeTag task={task} />}
                      </Flex>
                      <div className="item-sub">
                        {pickLanguage(task.process_title, i18n.language)} · #{task.process_instance_id}
                      </div>
                      <AskedBy task={task} className="item-sub" />
                      <MetadataSummary metadata={task.metadata} max={3} fields={fields.get(task.process_model_id)} />
                      <Flex gap={6} wrap align="center" className="item-foot">
                        <Tag>{regionName(task.region, t)}</Tag>
                        {task.lane && <Tag>{task.lane}</Tag>}
                        <SlaTag state={task.sla_state} />
                        <Typography.Text type="secondary">
                          <TimeAgo iso={done ? task.completed_at : task.created_at} />
                        </Typography.Text>
                      </Flex>
                    </div>
                    <RightOutlined aria-hidden className="item-chevron" />
                  </Flex>
                </Link>
              </Flex>
              {onClaim && (
                <Flex justify="flex-end" className="card-actions">
                  <Button
                    type="primary"
                    ghost
                    size="small"
                    loading={claiming === task.id}
                    onClick={() => onClaim(task)}
                    aria-label={t("claim.claimTask", { name })}
                  >
                    {t("claim.claim")}
                  </Button>
                </Flex>
              )}
            </Card>
          </li>
        );
      })}
    </ul>
  );
}

/** Clicks on controls inside a row are not row clicks. */
const onControl = (target: EventTarget) =>
  !!(target as HTMLElement).closest("a,button,input,label,.ant-checkbox-wrapper,.ant-table-selection-column");

/** Desktops: a table; the task name is the keyboard-reachable link, a row click works too. */
export function TaskTable({
  tasks,
  done,
  loading,
  selection,
  onClaim,
  claiming,
}: { tasks: Task[]; done: boolean; loading: boolean } & ListControls) {
  const { t, i18n } = useTranslation();
  const fields = useMetaFields(tasks.map((task) => task.process_model_id));
  const navigate = useNavigate();
  return (
    <Table<Task>
      rowKey="id"
      size="middle"
      loading={loading}
      dataSource={tasks}
      pagination={false}
      rowClassName={(task) => (task.unread ? "clickable-row unread" : "clickable-row")}
      onRow={(task) => ({
        onClick: (e) => !onControl(e.target) && navigate(`/tasks/${task.id}`),
      })}
      rowSelection={
        selection
          ? {
              selectedRowKeys: selection.selected,
              onChange: (keys) => selection.onChange(keys.map(Number)),
              getCheckboxProps: (task) => ({
                disabled: !task.batch_approvable,
                "aria-label": t("batch.select", { name: task.name }),
              }),
              renderCell: (_checked, task, _i, node) => (task.batch_approvable ? node : null),
              columnTitle: (node) => <span title={t("batch.selectAll")}>{node}</span>,
            }
          : undefined
      }
      columns={[
        {
          key: "task",
          title: t("inbox.columns.task"),
          width: 200, // task names stay on one line when a request's summary is long
          render: (_, task) => (
            <div>
              <Flex gap={6} align="center" wrap>
                <UnreadMark unread={task.unread} />
                <Link to={`/tasks/${task.id}`} className="task-link">
                  {task.name}
                </Link>
                <KindTag task={task} />
              </Flex>
              {task.lane && <div className="cell-sub">{task.lane}</div>}
              <AskedBy task={task} className="cell-sub" />
            </div>
          ),
        },
        {
          key: "request",
          title: t("inbox.columns.request"),
          render: (_, task) => (
            <div>
              <div>
                {pickLanguage(task.process_title, i18n.language)}{" "}
                <Typography.Text type="secondary">#{task.process_instance_id}</Typography.Text>
              </div>
              <MetadataSummary metadata={task.metadata} fields={fields.get(task.process_model_id)} />
            </div>
          ),
        },
        { key: "region", title: t("inbox.columns.region"), width: 90, render: (_, task) => regionName(task.region, t) },
        ...(done
          ? [
              {
                key: "outcome",
                title: t("inbox.columns.outcome"),
                width: 110,
                render: (_: unknown, task: Task) => <OutcomeTag task={task} />,
              },
              {
                key: "completed",
                title: t("inbox.columns.completed"),
                width: 130,
                render: (_: unknown, task: Task) => <TimeAgo iso={task.completed_at} />,
              },
            ]
          : [
              {
                key: "created",
                title: t("inbox.columns.created"),
                width: 130,
                render: (_: unknown, task: Task) => <TimeAgo iso={task.created_at} />,
              },
            ]),
        { key: "due", title: t("inbox.columns.due"), width: 170, render: (_, task) => <Due task={task} /> },
        ...(onClaim
          ? [
              {
                key: "claim",
                title: <span className="sr-only">{t("inbox.columns.actions")}</span>,
                width: 100,
                render: (_: unknown, task: Task) => (
                  <Button
                    size="small"
                    type="primary"
                    ghost
                    loading={claiming === task.id}
                    onClick={() => onClaim(task)}
                    aria-label={t("claim.claimTask", { name: task.name })}
                  >
                    {t("claim.claim")}
                  </Button>
                ),
              },
            ]
          : []),
      ]}
    />
  );
}

import { RightOutlined } from "@ant-design/icons";
import { Card, Flex, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import type { Task } from "../api";
import { MetadataSummary } from "../components/MetadataSummary";
import { SlaTag } from "../components/Tags";
import { TimeAgo } from "../components/TimeAgo";
import { pickLanguage, regionName } from "../lib/format";
import { formatDateTime } from "../lib/time";

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

/** Phones: one card per task, the whole card is the link. */
export function TaskCards({ tasks, done }: { tasks: Task[]; done: boolean }) {
  const { t, i18n } = useTranslation();
  return (
    <ul className="card-list" aria-label={t("inbox.title")}>
      {tasks.map((task) => (
        <li key={task.id}>
          <Link to={`/tasks/${task.id}`} className="card-link">
            <Card size="small" className="item-card">
              <Flex justify="space-between" align="start" gap={8}>
                <div className="item-main">
                  <Typography.Text strong className="item-title">
                    {task.name}
                  </Typography.Text>
                  <div className="item-sub">
                    {pickLanguage(task.process_title, i18n.language)} · #{task.process_instance_id}
                  </div>
                  <MetadataSummary metadata={task.metadata} max={3} />
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
            </Card>
          </Link>
        </li>
      ))}
    </ul>
  );
}

/** Desktops: a table; the task name is the keyboard-reachable link, a row click works too. */
export function TaskTable({ tasks, done, loading }: { tasks: Task[]; done: boolean; loading: boolean }) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  return (
    <Table<Task>
      rowKey="id"
      size="middle"
      loading={loading}
      dataSource={tasks}
      pagination={false}
      onRow={(task) => ({
        onClick: (e) => !(e.target as HTMLElement).closest("a") && navigate(`/tasks/${task.id}`),
        className: "clickable-row",
      })}
      columns={[
        {
          key: "task",
          title: t("inbox.columns.task"),
          render: (_, task) => (
            <div>
              <Link to={`/tasks/${task.id}`} className="task-link">
                {task.name}
              </Link>
              {task.lane && <div className="cell-sub">{task.lane}</div>}
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
              <MetadataSummary metadata={task.metadata} />
            </div>
          ),
        },
        { key: "region", title: t("inbox.columns.region"), width: 90, render: (_, task) => regionName(task.region, t) },
        done
          ? {
              key: "completed",
              title: t("inbox.columns.completed"),
              width: 130,
              render: (_, task) => <TimeAgo iso={task.completed_at} />,
            }
          : {
              key: "created",
              title: t("inbox.columns.created"),
              width: 130,
              render: (_, task) => <TimeAgo iso={task.created_at} />,
            },
        { key: "due", title: t("inbox.columns.due"), width: 170, render: (_, task) => <Due task={task} /> },
      ]}
    />
  );
}

import { Flex, Switch, Tag, Timeline, Typography, type TimelineItemProps } from "antd";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import type { JsonObject, Task, TimelineEvent } from "../api";
import type { FieldLabel } from "../forms/schema";
import { pickLanguage } from "../lib/format";
import { formatDateTime } from "../lib/time";
import { AttachmentLinks } from "./AttachmentLinks";
import { DataList } from "./DataList";
import { Person, peopleText, personText } from "./Person";
import { describeEvent } from "./timeline";

/** Events a person did; the rest (task_created, timers...) are the engine talking. */
const isSystem = (e: TimelineEvent) => e.actor === "system" || e.type === "task_created";

const asObject = (v: unknown): JsonObject | null =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as JsonObject) : null;

/** Decisions (fields whose form offers titled options) shown on the line itself. */
function Decisions({ data, labels }: { data: JsonObject; labels: Map<string, FieldLabel> }) {
  const { i18n } = useTranslation();
  const shown = Object.entries(data).flatMap(([key, value]) => {
    const option = labels.get(key)?.options?.get(JSON.stringify(value));
    return option
      ? [
          <Tag key={key} color="blue">
            {pickLanguage(option, i18n.language)}
          </Tag>,
        ]
      : [];
  });
  return shown.length ? <span>{shown}</span> : null;
}

function EventBody({ event, labels }: { event: TimelineEvent; labels: Map<string, FieldLabel> }) {
  const { t } = useTranslation();
  const view = describeEvent(event, t);
  const submitted = asObject(event.data?.data);

  return (
    <div className="timeline-event">
      <Flex gap={6} wrap align="baseline">
        {event.actor === "system" ? (
          <Typography.Text strong>{view.actor}</Typography.Text>
        ) : (
          <Person username={event.actor} name={event.actor_name} strong />
        )}
        <span>{view.verb}</span>
        {view.task && <Typography.Text strong>「{view.task}」</Typography.Text>}
        {view.target && <span className="timeline-target">{view.target}</span>}
        {view.tags.map((tag) => (
          <Tag key={tag.text} color={tag.color}>
            {tag.text}
          </Tag>
        ))}
        {submitted && <Decisions data={submitted} labels={labels} />}
      </Flex>
      <Typography.Text type="secondary" className="timeline-time">
        <time dateTime={event.at}>{formatDateTime(event.at)}</time>
        {view.detail.length > 0 && <> · {view.detail.join(" · ")}</>}
      </Typography.Text>
      {view.comment && <blockquote className="timeline-comment">{view.comment}</blockquote>}
      <AttachmentLinks refs={view.attachments} />
      {submitted && Object.keys(submitted).length > 0 && event.type !== "instance_started" && (
        <details className="timeline-data">
          <summary>
            {t("event.submittedData")} ({Object.keys(submitted).length})
          </summary>
          <DataList data={submitted} labels={labels} columns={1} />
        </details>
      )}
    </div>
  );
}

/** Who did what when, oldest first; open tasks shown as the pending end of the line. */
export function InstanceTimeline({
  events,
  labels,
  openTasks = [],
}: {
  events: TimelineEvent[];
  labels: Map<string, FieldLabel>;
  openTasks?: Task[];
}) {
  const { t } = useTranslation();
  const [showSystem, setShowSystem] = useState(false);
  const switchId = useId();
  const visible = showSystem ? events : events.filter((e) => !isSystem(e) || e.type === "instance_error");
  const items: TimelineItemProps[] = visible.map((e) => ({
    key: e.seq,
    color: describeEvent(e, t).color,
    children: <EventBody event={e} labels={labels} />,
  }));
  const pending = openTasks.length
    ? openTasks
        .map((task) => {
          // An added approver's task waits for named people, not for its step's lane.
          const who =
            task.kind === "added"
              ? task.assignee
                ? personText(task.assignee, task.assignee_name)
                : peopleText(task.candidate_users, task.candidate_user_names, t("event.listSeparator"))
              : task.lane;
          return `${task.name}${who ? `（${who}）` : ""}`;
        })
        .join("、")
    : undefined;
  return (
    <div>
      <Flex justify="flex-end" align="center" gap={8} className="timeline-toolbar">
        <label htmlFor={switchId}>
          <Typography.Text type="secondary">{t("event.showSystem")}</Typography.Text>
        </label>
        <Switch id={switchId} size="small" checked={showSystem} onChange={setShowSystem} />
      </Flex>
      {items.length === 0 && !pending ? (
        <Typography.Text type="secondary">{t("event.empty")}</Typography.Text>
      ) : (
        <Timeline
          items={[
            ...items,
            ...(pending
              ? [
                  {
                    key: "pending",
                    color: "blue",
                    children: <Typography.Text>{t("event.pending", { tasks: pending })}</Typography.Text>,
                  },
                ]
              : []),
          ]}
        />
      )}
    </div>
  );
}

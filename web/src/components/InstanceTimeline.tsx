import { Flex, Switch, Tag, Timeline, Typography, type TimelineItemProps } from "antd";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import type { JsonObject, Task, TimelineEvent } from "../api";
import type { FieldLabel } from "../forms/schema";
import { pickLanguage } from "../lib/format";
import { formatDateTime } from "../lib/time";
import { DataList } from "./DataList";

const COLORS: Record<string, string> = {
  instance_started: "blue",
  task_completed: "green",
  task_auto_completed: "green",
  instance_completed: "green",
  instance_withdrawn: "gray",
  instance_terminated: "gray",
  instance_error: "red",
  timer_fired: "orange",
};

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
  const d = event.data ?? {};
  const taskName = typeof d.task === "string" ? d.task : "";
  const submitted = asObject(d.data);
  const actor = event.actor === "system" ? t("event.system") : event.actor;
  const what = t(`event.${event.type}`, { defaultValue: event.type });
  const detail: string[] = [];
  if (typeof d.lane === "string" && d.lane) detail.push(d.lane);
  if (typeof d.reason === "string" && d.reason) detail.push(`${t("event.reason")}: ${d.reason}`);
  if (typeof d.message === "string" && d.message) detail.push(d.message);
  if (typeof d.from === "string" && typeof d.to === "string") detail.push(`${d.from} → ${d.to}`);
  if (event.type === "timer_fired" && typeof d.due_at === "string") detail.push(formatDateTime(d.due_at));

  return (
    <div className="timeline-event">
      <Flex gap={6} wrap align="baseline">
        <Typography.Text strong>{actor}</Typography.Text>
        <span>{what}</span>
        {taskName && <Typography.Text strong>「{taskName}」</Typography.Text>}
        {submitted && <Decisions data={submitted} labels={labels} />}
      </Flex>
      <Typography.Text type="secondary" className="timeline-time">
        <time dateTime={event.at}>{formatDateTime(event.at)}</time>
        {detail.length > 0 && <> · {detail.join(" · ")}</>}
      </Typography.Text>
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
    color: COLORS[e.type] ?? "gray",
    children: <EventBody event={e} labels={labels} />,
  }));
  const pending = openTasks.length
    ? openTasks.map((task) => `${task.name}${task.lane ? `（${task.lane}）` : ""}`).join("、")
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

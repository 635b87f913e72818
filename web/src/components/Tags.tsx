import { Tag } from "antd";
import { useTranslation } from "react-i18next";
import type { InstanceStatus, TaskStatus } from "../api";

const INSTANCE_COLORS: Record<InstanceStatus, string> = {
  running: "processing",
  waiting: "gold",
  complete: "success",
  withdrawn: "default",
  terminated: "default",
  error: "error",
};

export function InstanceStatusTag({ status }: { status: InstanceStatus }) {
  const { t } = useTranslation();
  return <Tag color={INSTANCE_COLORS[status] ?? "default"}>{t(`status.${status}`, { defaultValue: status })}</Tag>;
}

const TASK_COLORS: Record<TaskStatus, string> = {
  open: "processing",
  on_hold: "warning",
  completed: "success",
  cancelled: "default",
};

export function TaskStatusTag({ status }: { status: TaskStatus }) {
  const { t } = useTranslation();
  return <Tag color={TASK_COLORS[status] ?? "default"}>{t(`status.${status}`, { defaultValue: status })}</Tag>;
}

const SLA_COLORS: Record<string, string> = {
  on_track: "green",
  ok: "green",
  due_soon: "orange",
  warning: "orange",
  overdue: "red",
  breached: "red",
  escalated: "volcano",
};

/** The task's SLA state, when the process sets a deadline. */
export function SlaTag({ state }: { state: string | null | undefined }) {
  const { t } = useTranslation();
  if (!state) return null;
  return <Tag color={SLA_COLORS[state] ?? "default"}>{t(`sla.${state}`, { defaultValue: state })}</Tag>;
}

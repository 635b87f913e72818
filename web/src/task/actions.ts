// Which task actions to offer, and how their failures read. Pure: the task page renders what
// these say, and unit tests check them without a browser.
import type { TFunction } from "i18next";
import {
  ApiError,
  type BatchResult,
  type InstanceDetail,
  type Task,
  type TaskAction,
  type TaskDetail,
  type User,
} from "../api";

/** The secondary actions in the order the action bar shows them (the form submits `complete`). */
export const BAR_ACTIONS = ["transfer", "add-approver", "send-back", "cc", "urge", "comment"] as const;
export type BarAction = (typeof BAR_ACTIONS)[number];

const has = (task: Pick<TaskDetail, "allowed_actions">, action: TaskAction) =>
  Array.isArray(task.allowed_actions) && task.allowed_actions.includes(action);

export interface ActionSet {
  /** Submit the form (approve/reject as the model's form defines). */
  complete: boolean;
  saveDraft: boolean;
  claim: boolean;
  unclaim: boolean;
  /** The secondary buttons, in display order. */
  bar: BarAction[];
}

/** What the caller may do now: only what the server's `allowed_actions` lists; nothing once the
 * task was taken by someone else (a 409) while the page was open. */
export function actionSet(task: Pick<TaskDetail, "allowed_actions" | "status">, conflict = false): ActionSet {
  if (conflict) return { complete: false, saveDraft: false, claim: false, unclaim: false, bar: [] };
  const open = task.status === "open";
  return {
    complete: open && has(task, "complete"),
    saveDraft: open && has(task, "save-draft"),
    claim: has(task, "claim"),
    unclaim: has(task, "unclaim"),
    bar: BAR_ACTIONS.filter((a) => has(task, a)),
  };
}

/** Whole minutes to wait (at least 1) from `Retry-After` seconds; null when unknown. */
export function retryMinutes(seconds: number | null | undefined): number | null {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return null;
  return Math.max(1, Math.ceil(seconds / 60));
}

/** One sentence for a failed action, in the UI's language. */
export function actionErrorMessage(error: unknown, t: TFunction): string {
  if (error instanceof ApiError) {
    if (error.isNetwork) return t("common.networkError");
    if (error.isConflict) return t("actions.conflict");
    if (error.isTooManyRequests) {
      const minutes = retryMinutes(error.retryAfter);
      return minutes === null ? t("actions.urgeTooSoonNoTime") : t("actions.urgeTooSoon", { minutes });
    }
    if (error.isForbidden) return t("common.forbidden");
    if (error.isNotFound) return t("actions.notFound");
    if (error.isTooLarge) return t("attachments.tooLargeServer");
    if (error.isUnsupportedType) return t("attachments.typeRefused");
    return error.message || t("common.error");
  }
  return error instanceof Error && error.message ? error.message : t("common.error");
}

/** The Chinese/English name of how a closed task ended, for the done tab; null for a plain completion. */
export function outcomeKey(task: Pick<Task, "outcome" | "status">): string | null {
  if (task.outcome) return `outcome.${task.outcome}`;
  if (task.status === "cancelled") return "status.cancelled";
  return null;
}

export interface BatchSummary {
  ok: number;
  failed: number;
  lines: { taskId: number; ok: boolean; reason: string }[];
}

/** The per-task outcome of a batch approval, worded for people. */
export function summarizeBatch(results: BatchResult[], t: TFunction): BatchSummary {
  const lines = results.map((r) => {
    if (r.ok) return { taskId: r.task_id, ok: true, reason: t("batch.approved") };
    const raw = typeof r.error === "string" ? r.error : (r.error?.message ?? "");
    const reason =
      r.status === 409
        ? t("actions.conflict")
        : r.status === 422
          ? t("batch.needsForm")
          : r.status === 403
            ? t("common.forbidden")
            : r.status === 404
              ? t("actions.notFound")
              : raw || t("common.error");
    return { taskId: r.task_id, ok: false, reason };
  });
  const ok = lines.filter((l) => l.ok).length;
  return { ok, failed: lines.length - ok, lines };
}

/** Where a notification leads: its task, else its request, else nowhere. */
export function notificationHref(n: { task_id: number | null; process_instance_id: number | null }): string | null {
  if (n.task_id) return `/tasks/${n.task_id}`;
  if (n.process_instance_id) return `/requests/${n.process_instance_id}`;
  return null;
}

/** The added approvers (加签) of a task among its request's tasks. */
export function addedApprovers<T extends Pick<Task, "parent_id" | "kind">>(taskId: number, tasks: T[]): T[] {
  return tasks.filter((x) => x.parent_id === taskId && x.kind === "added");
}

const RUNNING = new Set(["running", "waiting"]);

/** What the signed-in user may do on a request page. The server's `allowed_actions` decides when
 * it sends one; otherwise the documented rules: 催办 by anyone but the current approvers (the
 * initiator, typically) while tasks are open; 抄送 by the initiator, an approver or an admin;
 * comments by anyone who can read it except auditors. */
export function instanceActions(
  instance: Pick<InstanceDetail, "initiator" | "status" | "tasks" | "allowed_actions">,
  user: Pick<User, "username" | "groups">,
): { urge: boolean; cc: boolean; comment: boolean } {
  if (Array.isArray(instance.allowed_actions)) {
    const a = instance.allowed_actions;
    return { urge: a.includes("urge"), cc: a.includes("cc"), comment: a.includes("comment") };
  }
  const open = instance.tasks.filter((x) => x.status === "open");
  const approver = open.some((x) =>
    x.assignee
      ? x.assignee === user.username
      : x.candidate_users.includes(user.username) || x.candidate_groups.some((g) => user.groups.includes(g)),
  );
  const auditor = user.groups.includes("auditor");
  const initiator = instance.initiator === user.username;
  return {
    urge: RUNNING.has(instance.status) && open.length > 0 && !approver && !auditor && initiator,
    cc: !auditor && (initiator || approver || user.groups.includes("admin")),
    comment: !auditor,
  };
}

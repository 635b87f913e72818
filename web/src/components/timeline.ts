// How one history event reads: "east_planner 转交「计划员分诊」 east_planner → north_planner".
// Pure (events in, words out) so both languages can be unit-tested.
import type { TFunction } from "i18next";
import type { JsonObject, TimelineEvent } from "../api";
import { formatDateTime } from "../lib/time";

export interface EventTag {
  text: string;
  color: string;
}

export interface EventView {
  actor: string;
  /** What happened: "转交", "退回", "评论"... */
  verb: string;
  /** The task it concerns, without quotes. */
  task: string;
  /** Who or where: "a → b", "至「计划员分诊」", "张伟、李晓梅". */
  target: string;
  tags: EventTag[];
  /** A person's words (comment, reason), shown as a quote. */
  comment: string;
  attachments: string[];
  /** Small print after the time. */
  detail: string[];
  color: string;
}

const COLORS: Record<string, string> = {
  instance_started: "blue",
  task_completed: "green",
  task_auto_completed: "green",
  instance_completed: "green",
  instance_withdrawn: "gray",
  instance_terminated: "gray",
  instance_error: "red",
  timer_fired: "orange",
  task_claimed: "blue",
  task_unclaimed: "gray",
  task_transferred: "blue",
  approver_added: "purple",
  added_approver_answered: "purple",
  task_sent_back: "orange",
  instance_cc: "cyan",
  task_urged: "gold",
  comment_added: "gray",
};

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const strings = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.filter((x): x is string => typeof x === "string" && x !== "")
    : typeof v === "string" && v
      ? [v]
      : [];

/** "、" between Chinese names, ", " in English. */
export function joinNames(names: string[], t: TFunction): string {
  return names.join(t("event.listSeparator"));
}

/** How many people a notice reached: a number, or a list of them. */
function notifiedCount(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (Array.isArray(v)) return v.length;
  return null;
}

export function describeEvent(event: TimelineEvent, t: TFunction): EventView {
  const d: JsonObject = event.data ?? {};
  const view: EventView = {
    actor: event.actor === "system" ? t("event.system") : event.actor,
    verb: t(`event.${event.type}`, { defaultValue: event.type }),
    task: str(d.task),
    target: "",
    tags: [],
    comment: str(d.comment),
    attachments: [],
    detail: [],
    color: COLORS[event.type] ?? "gray",
  };
  switch (event.type) {
    case "task_transferred": {
      // `from`: who had it (the assignee, or every member of the groups it was offered to).
      const from = strings(d.from);
      const who =
        from.length > 3
          ? t("event.andMore", { names: joinNames(from.slice(0, 3), t), n: from.length })
          : joinNames(from, t);
      if (str(d.to)) view.target = who ? `${who} → ${str(d.to)}` : `→ ${str(d.to)}`;
      break;
    }
    case "approver_added": {
      view.target = joinNames(strings(d.users), t);
      const position = str(d.position);
      const sign = str(d.sign);
      if (position)
        view.tags.push({ text: t(`addApprover.position.${position}`, { defaultValue: position }), color: "purple" });
      if (sign && strings(d.users).length > 1)
        view.tags.push({ text: t(`addApprover.sign.${sign}`, { defaultValue: sign }), color: "purple" });
      break;
    }
    case "added_approver_answered": {
      const decision = str(d.decision);
      if (decision)
        view.tags.push({
          text: t(`outcome.${decision}`, { defaultValue: decision }),
          color: decision === "approve" ? "green" : decision === "reject" ? "red" : "default",
        });
      break;
    }
    case "task_sent_back": {
      const step = str(d.to_name) || str(d.to);
      if (step) view.target = t("event.sentBackTo", { step });
      break;
    }
    case "instance_cc":
      view.target = joinNames(strings(d.users), t);
      break;
    case "task_urged": {
      const n = notifiedCount(d.notified);
      if (n !== null) view.detail.push(t("event.notified", { n }));
      break;
    }
    case "comment_added":
      view.comment = str(d.body);
      view.attachments = strings(d.attachments);
      break;
    default:
      // Older events: the lane, a reason, an error message, a delegation "a → b", a timer's time.
      if (str(d.lane)) view.detail.push(str(d.lane));
      if (str(d.reason)) view.detail.push(`${t("event.reason")}: ${str(d.reason)}`);
      if (str(d.message)) view.detail.push(str(d.message));
      if (str(d.from) && str(d.to)) view.target = `${str(d.from)} → ${str(d.to)}`;
      if (event.type === "timer_fired" && str(d.due_at)) view.detail.push(formatDateTime(str(d.due_at)));
  }
  return view;
}

// The inbox's state lives in the URL (?tab=group&q=ETO&page=2): back/forward and shared links work.
import type { TaskQuery, InstanceQuery, SlaFilter, TaskSort } from "../api";
import { amountBounds, NO_AMOUNT, readAmountRange, writeAmountRange, type AmountRange } from "../audit/amountRange";

export const TABS = ["mine", "group", "cc", "started", "done"] as const;
export type InboxTab = (typeof TABS)[number];

export interface InboxParams {
  tab: InboxTab;
  q: string;
  process: string;
  region: string;
  sort: string;
  /** Task tabs: only tasks in this SLA state ("" = any). */
  sla: SlaFilter | "";
  /** With a process chosen: a range on its amount metadata key (?amount=capex&min=1000&max=5000,
   * as on the audit page); it goes when the process does. */
  amount: AmountRange;
  page: number;
  /** CC tab: only what I have not read yet. */
  unread: boolean;
}

export const PER_PAGE = 20;
export const TASK_SORTS: TaskSort[] = ["-created", "created", "due", "-due"];
export const INSTANCE_SORTS = ["-created", "created", "-updated"] as const;
/** The SLA filter's choices, in the order the filter offers them (GET /tasks?sla=). */
export const SLA_FILTERS: SlaFilter[] = ["breached", "due_soon", "on_track", "none"];

const slaOf = (raw: string | null): SlaFilter | "" =>
  (SLA_FILTERS as readonly string[]).includes(raw ?? "") ? (raw as SlaFilter) : "";

export function readParams(search: URLSearchParams): InboxParams {
  const raw = search.get("tab");
  const tab: InboxTab = (TABS as readonly string[]).includes(raw ?? "") ? (raw as InboxTab) : "mine";
  const page = Number(search.get("page") ?? "1");
  return {
    tab,
    q: search.get("q") ?? "",
    process: search.get("process") ?? "",
    region: search.get("region") ?? "",
    sort: search.get("sort") ?? "",
    sla: filterable(tab).sla ? slaOf(search.get("sla")) : "",
    amount: search.get("process") && filterable(tab).selects ? readAmountRange(search) : NO_AMOUNT,
    page: Number.isInteger(page) && page > 0 ? page : 1,
    unread: tab === "cc" && search.get("unread") === "1",
  };
}

/** Only non-default values go in the URL. */
export function writeParams(p: InboxParams): URLSearchParams {
  const out = new URLSearchParams();
  if (p.tab !== "mine") out.set("tab", p.tab);
  if (p.q) out.set("q", p.q);
  if (p.process) out.set("process", p.process);
  if (p.region) out.set("region", p.region);
  if (p.sort) out.set("sort", p.sort);
  if (p.sla && filterable(p.tab).sla) out.set("sla", p.sla);
  if (p.process && filterable(p.tab).selects) writeAmountRange(out, p.amount);
  if (p.page > 1) out.set("page", String(p.page));
  if (p.tab === "cc" && p.unread) out.set("unread", "1");
  return out;
}

/** The GET /tasks query of a task tab. */
export function taskQuery(p: InboxParams): TaskQuery {
  const sort = (TASK_SORTS as string[]).includes(p.sort) ? (p.sort as TaskSort) : "-created";
  const base: TaskQuery = {
    scope: p.tab === "group" ? "group" : "mine",
    status: p.tab === "done" ? "completed" : "open",
    q: p.q || undefined,
    process: p.process || undefined,
    region: p.region || undefined,
    sort,
    sla: p.sla || undefined,
    ...(p.process ? amountBounds(p.amount) : {}),
    page: p.page,
    per_page: PER_PAGE,
  };
  return base;
}

/** The GET /process-instances query of "started by me". */
export function instanceQuery(p: InboxParams, username: string): InstanceQuery {
  const sort = (INSTANCE_SORTS as readonly string[]).includes(p.sort) ? (p.sort as InstanceQuery["sort"]) : "-created";
  return {
    initiator: username,
    process: p.process || undefined,
    region: p.region || undefined,
    ...(p.process ? amountBounds(p.amount) : {}),
    sort,
    page: p.page,
    per_page: PER_PAGE,
  };
}

/** The GET /cc query of "CC'd to me" (the API filters by read state only). */
export function ccQuery(p: InboxParams): { unread?: boolean; page: number; per_page: number } {
  return { unread: p.unread || undefined, page: p.page, per_page: PER_PAGE };
}

/** The change of the process filter: a new process (or none) drops the amount range, whose key
 * was the previous process's. */
export const processPatch = (process: string): Partial<InboxParams> => ({ process, amount: NO_AMOUNT, page: 1 });

/** Tabs whose lists the text search, process/region filters (and the amount range) and sorting apply to; the SLA
 * filter applies to task tabs only (a request has no due time). */
export const filterable = (tab: InboxTab): { search: boolean; selects: boolean; sla: boolean } => ({
  search: tab === "mine" || tab === "group" || tab === "done",
  selects: tab !== "cc",
  sla: tab === "mine" || tab === "group" || tab === "done",
});

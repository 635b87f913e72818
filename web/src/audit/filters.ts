// The audit search lives in the URL (/audit?region=EAST&from=2026-01-01&status=complete...):
// a search can be bookmarked, shared with a colleague and stepped through with the back button.
// Pure functions: URL <-> filters <-> the API's search (GET /process-instances, record exports).
import {
  AUDIT_SORTS,
  AUDIT_STATUSES,
  modelIdFromPath,
  modelPath,
  type AuditSort,
  type AuditStatus,
  type SearchBody,
  type SearchQuery,
} from "../api/audit";
import { amountBounds, amountProblem, isMetaKey, readAmountRange, writeAmountRange } from "./amountRange";

export { isMetaKey, normalizeNumber } from "./amountRange";

export interface AuditFilters {
  /** Model id with '/' ("eto/eto-change-order"); "" = any. */
  process: string;
  region: string;
  status: AuditStatus[];
  /** YYYY-MM-DD, Asia/Shanghai days, inclusive. */
  from: string;
  to: string;
  /** The numeric metadata key the amount range applies to (capex, claim_amount...). */
  amountKey: string;
  amountMin: string;
  amountMax: string;
  /** Exact metadata matches (station, order no...), in the order given. */
  meta: [string, string][];
  participant: string;
  q: string;
  sort: AuditSort;
  page: number;
  perPage: number;
}

export const PAGE_SIZES = [20, 50, 100] as const;
export const DEFAULT_PER_PAGE = 20;
export const DEFAULT_SORT: AuditSort = "-created";
/** The server's limit on one export (reports/export.MAX_RECORDS). */
export const MAX_EXPORT = 1000;

export const EMPTY_FILTERS: AuditFilters = {
  process: "",
  region: "",
  status: [],
  from: "",
  to: "",
  amountKey: "",
  amountMin: "",
  amountMax: "",
  meta: [],
  participant: "",
  q: "",
  sort: DEFAULT_SORT,
  page: 1,
  perPage: DEFAULT_PER_PAGE,
};

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar day written YYYY-MM-DD. */
export function isDay(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** "station_name:南京江宁站" -> ["station_name", "南京江宁站"]; malformed -> null. */
export function parsePair(raw: string): [string, string] | null {
  const i = raw.indexOf(":");
  if (i <= 0) return null;
  const key = raw.slice(0, i).trim();
  const value = raw.slice(i + 1).trim();
  return isMetaKey(key) && value ? [key, value] : null;
}

function positiveInt(raw: string | null, fallback: number): number {
  const n = Number(raw ?? "");
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** What the URL says, with anything unknown or malformed left out (a hand-edited link never breaks the page). */
export function readFilters(search: URLSearchParams): AuditFilters {
  const get = (k: string) => (search.get(k) ?? "").trim();
  const statuses = get("status")
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is AuditStatus => (AUDIT_STATUSES as string[]).includes(s));
  const sort = get("sort");
  const perPage = positiveInt(search.get("per_page"), DEFAULT_PER_PAGE);
  const amount = readAmountRange(search);
  const meta: [string, string][] = [];
  for (const raw of search.getAll("meta")) {
    const pair = parsePair(raw);
    if (pair && !meta.some(([k, v]) => k === pair[0] && v === pair[1])) meta.push(pair);
  }
  return {
    process: get("process") ? modelIdFromPath(get("process")) : "",
    region: get("region"),
    status: [...new Set(statuses)],
    from: isDay(get("from")) ? get("from") : "",
    to: isDay(get("to")) ? get("to") : "",
    amountKey: amount.key,
    amountMin: amount.min,
    amountMax: amount.max,
    meta,
    participant: get("participant"),
    q: get("q").slice(0, 200),
    sort: (AUDIT_SORTS as string[]).includes(sort) ? (sort as AuditSort) : DEFAULT_SORT,
    page: positiveInt(search.get("page"), 1),
    perPage: (PAGE_SIZES as readonly number[]).includes(perPage) ? perPage : DEFAULT_PER_PAGE,
  };
}

/** Only what differs from the defaults goes in the URL, in a stable order. */
export function writeFilters(f: AuditFilters): URLSearchParams {
  const out = new URLSearchParams();
  if (f.process) out.set("process", modelPath(f.process));
  if (f.region) out.set("region", f.region);
  if (f.status.length) out.set("status", f.status.join(","));
  if (f.from) out.set("from", f.from);
  if (f.to) out.set("to", f.to);
  writeAmountRange(out, amountOf(f));
  for (const [k, v] of f.meta) if (k && v) out.append("meta", `${k}:${v}`);
  if (f.participant) out.set("participant", f.participant);
  if (f.q.trim()) out.set("q", f.q.trim());
  if (f.sort !== DEFAULT_SORT) out.set("sort", f.sort);
  if (f.page > 1) out.set("page", String(f.page));
  if (f.perPage !== DEFAULT_PER_PAGE) out.set("per_page", String(f.perPage));
  return out;
}

const amountOf = (f: AuditFilters) => ({ key: f.amountKey, min: f.amountMin, max: f.amountMax });

/** The search criteria as the API takes them (GET query and export body alike). */
export function searchBody(f: AuditFilters): SearchBody {
  const body: SearchBody = {};
  if (f.status.length) body.status = f.status.join(",");
  if (f.process) body.process = modelPath(f.process);
  if (f.region) body.region = f.region;
  if (f.participant) body.participant = f.participant;
  const meta = f.meta.filter(([k, v]) => k && v).map(([k, v]) => `${k}:${v}`);
  if (meta.length) body.metadata = meta.join(",");
  Object.assign(body, amountBounds(amountOf(f)));
  if (f.from) body.created_from = f.from;
  if (f.to) body.created_to = f.to;
  if (f.q.trim()) body.q = f.q.trim();
  return body;
}

/** GET /process-instances: the criteria plus sorting and paging. */
export function searchQuery(f: AuditFilters): SearchQuery {
  return { ...searchBody(f), sort: f.sort, page: f.page, per_page: f.perPage };
}

function pairs(raw: string | undefined): [string, string][] {
  return (raw ?? "")
    .split(",")
    .map(parsePair)
    .filter((p): p is [string, string] => p !== null);
}

/** An export's stored filters back as a search (to show it or search it again). */
export function filtersFromBody(body: SearchBody | null | undefined): AuditFilters {
  const b = body ?? {};
  const min = pairs(b.metadata_min);
  const max = pairs(b.metadata_max);
  const amountKey = min[0]?.[0] ?? max[0]?.[0] ?? "";
  const day = (v: string | undefined) => (v && isDay(v.slice(0, 10)) ? v.slice(0, 10) : "");
  return {
    ...EMPTY_FILTERS,
    process: b.process ? modelIdFromPath(b.process) : "",
    region: b.region ?? "",
    status: (b.status ?? "").split(",").filter((s): s is AuditStatus => (AUDIT_STATUSES as string[]).includes(s)),
    from: day(b.created_from),
    to: day(b.created_to),
    amountKey,
    amountMin: min.find(([k]) => k === amountKey)?.[1] ?? "",
    amountMax: max.find(([k]) => k === amountKey)?.[1] ?? "",
    meta: pairs(b.metadata),
    participant: b.participant ?? "",
    q: b.q ?? "",
  };
}

export type FilterProblem =
  | { field: "amount"; problem: "range" | "key" }
  | { field: "dates"; problem: "range" }
  | { field: "meta"; problem: "comma" | "key"; key: string };

/** What the API would refuse or misread, found before asking it. */
export function filterProblems(f: AuditFilters): FilterProblem[] {
  const out: FilterProblem[] = [];
  if ((f.amountMin || f.amountMax) && !f.amountKey) out.push({ field: "amount", problem: "key" });
  if (amountProblem(f.amountMin, f.amountMax) === "range") out.push({ field: "amount", problem: "range" });
  if (f.from && f.to && f.from > f.to) out.push({ field: "dates", problem: "range" });
  for (const [k, v] of f.meta) {
    if (!isMetaKey(k)) out.push({ field: "meta", problem: "key", key: k });
    // The API splits metadata=key:value,key:value on commas: a value cannot carry one.
    else if (v.includes(",")) out.push({ field: "meta", problem: "comma", key: k });
  }
  return out;
}

/** Whether any criterion narrows the search (paging and sorting aside). */
export function hasCriteria(f: AuditFilters): boolean {
  return Object.keys(searchBody(f)).length > 0;
}

/** The API's 400 `error.details.field` -> the form field to mark. */
export function formFieldOfApiField(field: string | null): keyof AuditFilters | "dates" | "amount" | null {
  switch (field) {
    case "status":
      return "status";
    case "process":
      return "process";
    case "region":
      return "region";
    case "participant":
    case "initiator":
      return "participant";
    case "metadata":
      return "meta";
    case "metadata_min":
    case "metadata_max":
      return "amount";
    case "created_from":
    case "created_to":
      return "dates";
    case "q":
      return "q";
    default:
      return null;
  }
}

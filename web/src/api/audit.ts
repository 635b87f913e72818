// The auditor's endpoints (issue #7): searching requests, signed PDF records, ZIP exports and
// verifying an uploaded record. Kept apart from index.ts/types.ts, with their own types.
import { API_BASE, ApiError, request, upload, type Query } from "./client";

export type AuditStatus = "running" | "waiting" | "complete" | "withdrawn" | "terminated" | "error";
export const AUDIT_STATUSES: AuditStatus[] = ["running", "waiting", "complete", "withdrawn", "terminated", "error"];
export type AuditSort = "-created" | "created" | "-updated" | "updated";
export const AUDIT_SORTS: AuditSort[] = ["-created", "created", "-updated", "updated"];

/** The search of GET /process-instances and POST /record-exports: all texts, all optional. */
export interface SearchBody {
  status?: string;
  /** Model id with '/' written ':' ("eto:eto-change-order"). */
  process?: string;
  region?: string;
  initiator?: string;
  participant?: string;
  /** key:value[,key:value] (exact). */
  metadata?: string;
  /** key:number[,...] */
  metadata_min?: string;
  metadata_max?: string;
  /** YYYY-MM-DD (whole days in Asia/Shanghai, inclusive) or ISO times. */
  created_from?: string;
  created_to?: string;
  q?: string;
}

export interface SearchQuery extends SearchBody {
  sort?: AuditSort;
  page?: number;
  per_page?: number;
}

/** One request of the search results (GET /process-instances items). */
export interface AuditInstance {
  id: number;
  process_model_id: string;
  process_id?: string;
  version?: number | null;
  title: string;
  status: AuditStatus;
  initiator: string;
  /** The initiator's display name. */
  initiator_name?: string;
  region: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface AuditPage<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

export interface AuditModel {
  id: string;
  display_name: string;
  group?: string | null;
}

export interface AuditModelDetail extends AuditModel {
  /** The newest version's files, process_model.json among them. */
  files: Record<string, string>;
}

export type ExportStatus = "queued" | "running" | "done" | "failed";

export interface RecordExport {
  id: number;
  status: ExportStatus;
  total: number;
  done: number;
  size: number | null;
  sha256: string | null;
  error: string | null;
  filters: SearchBody;
  created_at: string;
  finished_at: string | null;
}

// ---- POST /records/verify (reports/service.verify_record) ----

export interface TimestampCheck {
  time: string | null;
  intact: boolean;
  valid: boolean;
  trusted: boolean;
  tsa: string | null;
  ok?: boolean;
}

export interface SignatureCheck {
  field_name: string;
  kind: "signature" | "document-timestamp" | string;
  revision: number;
  signer: string | null;
  signer_sha256: string | null;
  intact: boolean;
  valid: boolean;
  trusted: boolean;
  signing_time: string | null;
  timestamp: TimestampCheck | null;
  coverage: string | null;
  modification_level: string | null;
  subfilter: string | null;
  ades_indication: string | null;
  problems: string[];
  ok?: boolean;
}

/** The facts the record carries (record.json embedded in the signed revision). */
export interface RecordFacts {
  instance_id?: number | string;
  chain_head?: string;
  event_count?: number | string;
  model_hash?: string;
  interim?: boolean | string;
  format?: string;
  generated_at?: string;
  model_id?: string;
  model_version?: number;
  status?: string;
  [key: string]: unknown;
}

export interface AuditChainCheck {
  checked: boolean;
  instance_id?: number;
  chain_intact?: boolean;
  /** The chain head in the record is an event of this system's audit log. */
  matches?: boolean;
  /** ...and it is still the request's newest event. */
  current?: boolean;
  reason?: string | null;
  problems?: string[];
}

export interface Verdict {
  ok: boolean;
  reason: string | null;
  /** PAdES baseline level reached: B-B, B-T, B-LT, B-LTA. */
  level: string | null;
  signatures: SignatureCheck[];
  document_timestamps: SignatureCheck[];
  dss: { certs: number; crls: number; ocsps: number } | null;
  record: RecordFacts | null;
  problems: string[];
  chain_head: string | null;
  instance_id: number | string | null;
  audit: AuditChainCheck;
}

export const modelPath = (id: string): string => id.replaceAll("/", ":");
export const modelIdFromPath = (path: string): string => path.replaceAll(":", "/");

/** Where the browser downloads things (same origin: the session cookie authenticates). */
export const recordPdfUrl = (instanceId: number): string => `${API_BASE}/process-instances/${instanceId}/record.pdf`;
export const exportDownloadUrl = (exportId: number): string => `${API_BASE}/record-exports/${exportId}/download`;
export const CA_PEM_URL = `${API_BASE}/records/ca.pem`;

export const isActiveExport = (e: Pick<RecordExport, "status">): boolean =>
  e.status === "queued" || e.status === "running";

/** 0..100 for a progress bar (a finished export is 100 even when it had nothing to do). */
export function exportPercent(e: Pick<RecordExport, "status" | "done" | "total">): number {
  if (e.status === "done") return 100;
  if (!e.total) return 0;
  return Math.max(0, Math.min(100, Math.floor((e.done / e.total) * 100)));
}

/** The search without empty values (the API takes absent, not "", for "any"). */
export function cleanBody<T extends SearchBody>(body: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (v !== undefined && v !== null && v !== "") out[k] = v;
  return out as T;
}

export const auditApi = {
  search: (query: SearchQuery, signal?: AbortSignal) =>
    request<AuditPage<AuditInstance>>("/process-instances", { query: cleanBody(query) as Query, signal }),
  models: (signal?: AbortSignal) => request<AuditModel[]>("/process-models", { signal }),
  model: (id: string) => request<AuditModelDetail>(`/process-models/${encodeURIComponent(modelPath(id))}`),

  createExport: (body: SearchBody) =>
    request<RecordExport>("/record-exports", { method: "POST", body: cleanBody(body) }),
  exports: (signal?: AbortSignal) => request<RecordExport[]>("/record-exports", { signal }),
  exportStatus: (id: number, signal?: AbortSignal) => request<RecordExport>(`/record-exports/${id}`, { signal }),

  verify: (file: File, options: { onProgress?: (percent: number) => void; signal?: AbortSignal } = {}) =>
    upload<Verdict>("/records/verify", file, file.name, { ...options, field: "file" }),
};

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException("aborted", "AbortError"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface PollOptions {
  /** Between two GETs (the UI uses 1.5 s). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Network or server hiccups in a row tolerated before giving up. */
  maxErrors?: number;
  /** Told about a failed poll that will be retried. */
  onRetry?: (error: ApiError) => void;
}

/** Polls GET /record-exports/<id> until the export is done or failed; `onUpdate` sees every state.
 * Resolves with the final state; rejects on abort, a 4xx (not mine, gone) or too many failures. */
export async function pollExport(
  id: number,
  onUpdate: (e: RecordExport) => void,
  { intervalMs = 1500, signal, maxErrors = 5, onRetry }: PollOptions = {},
): Promise<RecordExport> {
  let errors = 0;
  for (;;) {
    await sleep(intervalMs, signal);
    try {
      const e = await auditApi.exportStatus(id, signal);
      errors = 0;
      onUpdate(e);
      if (!isActiveExport(e)) return e;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err; // AbortError
      const transient = err.isNetwork || err.status >= 500 || err.isTooManyRequests;
      errors += 1;
      if (!transient || errors >= maxErrors) throw err;
      onRetry?.(err);
    }
  }
}

// The one place the UI talks HTTP. Same origin: the session cookie set by POST /auth/login
// authenticates every call (Flask serves the UI; Vite's dev server proxies /api).
import type { FieldError } from "./types";

export const API_BASE = "/api/v1";

/** Unsafe requests authenticated by the session cookie must echo the `csrf_token` cookie
 * (set at sign-in) in this header: a page on another site can send the cookie, not read it. */
export const CSRF_HEADER = "X-CSRF-Token";
const CSRF_COOKIE = "csrf_token";

/** The value of a cookie in a `document.cookie` string. */
export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return null;
}

let cookieSource: () => string = () => (typeof document === "undefined" ? "" : document.cookie);

/** Tests swap where cookies come from. */
export function setCookieSource(source: () => string): void {
  cookieSource = source;
}

/** Any failed call: HTTP status, the API's error code and message, and 422 field errors. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly fieldErrors: FieldError[];
  /** Seconds to wait before trying again (429 `Retry-After`), when the server said. */
  retryAfter: number | null = null;

  constructor(status: number, code: string, message: string, details: unknown = null, fieldErrors: FieldError[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.fieldErrors = fieldErrors;
  }

  /** The request field the server blamed (400 `error.details.field`), if any. */
  get field(): string | null {
    const d = this.details;
    return typeof d === "object" && d !== null && typeof (d as { field?: unknown }).field === "string"
      ? (d as { field: string }).field
      : null;
  }

  get isUnauthorized(): boolean {
    return this.status === 401;
  }
  get isForbidden(): boolean {
    return this.status === 403;
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409;
  }
  get isValidation(): boolean {
    return this.status === 422;
  }
  get isTooManyRequests(): boolean {
    return this.status === 429;
  }
  get isTooLarge(): boolean {
    return this.status === 413;
  }
  get isUnsupportedType(): boolean {
    return this.status === 415;
  }
  /** No answer at all (offline, server down): status 0. */
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

function isFieldError(value: unknown): value is FieldError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as FieldError).path === "string" &&
    typeof (value as FieldError).message === "string"
  );
}

/** The field errors of a 422 body: top-level `errors`, else `error.details.errors`. */
export function fieldErrorsOf(body: unknown): FieldError[] {
  if (typeof body !== "object" || body === null) return [];
  const top = (body as { errors?: unknown }).errors;
  const nested = (body as { error?: { details?: { errors?: unknown } | null } }).error?.details?.errors;
  const list = Array.isArray(top) ? top : Array.isArray(nested) ? nested : [];
  return list.filter(isFieldError);
}

/** Builds an ApiError from a response status and its (possibly non-JSON) body. */
export function errorFromBody(status: number, body: unknown, statusText = ""): ApiError {
  const err = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof err === "object" && err !== null) {
    const e = err as { code?: unknown; message?: unknown; details?: unknown };
    return new ApiError(
      status,
      typeof e.code === "string" ? e.code : `http_${status}`,
      typeof e.message === "string" ? e.message : statusText || `HTTP ${status}`,
      e.details ?? null,
      fieldErrorsOf(body),
    );
  }
  return new ApiError(status, `http_${status}`, statusText || `HTTP ${status}`);
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Seconds to wait from an error: the header, else `error.details.retry_after`. */
function retryAfterOf(header: string | null, details: unknown): number | null {
  const fromHeader = parseRetryAfter(header);
  if (fromHeader !== null) return fromHeader;
  const d = details as { retry_after?: unknown } | null;
  return typeof d === "object" && d !== null && typeof d.retry_after === "number" ? d.retry_after : null;
}

type Listener = (error: ApiError) => void;
const unauthorizedListeners = new Set<Listener>();

/** Called on every 401 (expired session): the auth layer signs the user out. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
  /** Don't broadcast a 401 (the sign-in call itself, the initial "who am I"). */
  quiet401?: boolean;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

let fetchImpl: FetchLike = (input, init) => fetch(input, init);

/** Tests swap the transport. */
export function setFetch(impl: FetchLike): void {
  fetchImpl = impl;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { method = "GET", body, query, signal, quiet401 = false } = options;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const csrf = readCookie(cookieSource(), CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }
  let response: Response;
  try {
    response = await fetchImpl(withQuery(API_BASE + path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError(0, "network_error", cause instanceof Error ? cause.message : "network error");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const error = errorFromBody(response.status, parsed, response.statusText);
    error.retryAfter = retryAfterOf(response.headers.get("Retry-After"), error.details);
    // A session whose CSRF cookie is gone (e.g. the browser dropped it) cannot write any more:
    // treat it like an expired session and sign in again, which issues a new one.
    const sessionUnusable = error.isUnauthorized || (error.isForbidden && error.code === "csrf_failed");
    if (sessionUnusable && !quiet401) unauthorizedListeners.forEach((l) => l(error));
    throw error;
  }
  return parsed as T;
}

// ---- multipart upload (fetch cannot report upload progress: XMLHttpRequest can) ----

/** The part of XMLHttpRequest an upload uses; tests give a fake. */
export interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: FormData): void;
  abort(): void;
  getResponseHeader(name: string): string | null;
  withCredentials: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly responseText: string;
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

let xhrFactory: () => XhrLike = () => new XMLHttpRequest() as unknown as XhrLike;

/** Tests swap the upload transport. */
export function setXhrFactory(factory: () => XhrLike): void {
  xhrFactory = factory;
}

export interface UploadOptions {
  /** The multipart field name (the API wants `file`). */
  field?: string;
  /** 0..100 as the bytes go out. */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

/** POSTs one file as multipart/form-data (CSRF header, session cookie); same errors as `request`. */
export function upload<T>(path: string, file: Blob, name: string, options: UploadOptions = {}): Promise<T> {
  const { field = "file", onProgress, signal } = options;
  return new Promise<T>((resolve, reject) => {
    const xhr = xhrFactory();
    xhr.open("POST", API_BASE + path);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    const csrf = readCookie(cookieSource(), CSRF_COOKIE);
    if (csrf) xhr.setRequestHeader(CSRF_HEADER, csrf);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress?.(Math.min(100, Math.round((e.loaded / e.total) * 100)));
    };
    xhr.onload = () => {
      let parsed: unknown = null;
      try {
        parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        parsed = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(100);
        resolve(parsed as T);
        return;
      }
      const error = errorFromBody(xhr.status, parsed, xhr.statusText);
      error.retryAfter = retryAfterOf(xhr.getResponseHeader("Retry-After"), error.details);
      if (error.isUnauthorized || (error.isForbidden && error.code === "csrf_failed"))
        unauthorizedListeners.forEach((l) => l(error));
      reject(error);
    };
    xhr.onerror = () => reject(new ApiError(0, "network_error", "network error"));
    xhr.onabort = () => reject(new DOMException("upload aborted", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    const body = new FormData();
    body.append(field, file, name);
    xhr.send(body);
  });
}

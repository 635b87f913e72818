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

  constructor(status: number, code: string, message: string, details: unknown = null, fieldErrors: FieldError[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.fieldErrors = fieldErrors;
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
    // A session whose CSRF cookie is gone (e.g. the browser dropped it) cannot write any more:
    // treat it like an expired session and sign in again, which issues a new one.
    const sessionUnusable = error.isUnauthorized || (error.isForbidden && error.code === "csrf_failed");
    if (sessionUnusable && !quiet401) unauthorizedListeners.forEach((l) => l(error));
    throw error;
  }
  return parsed as T;
}

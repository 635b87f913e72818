import { afterEach, describe, expect, it, vi } from "vitest";
import {
  auditApi,
  CA_PEM_URL,
  cleanBody,
  exportDownloadUrl,
  exportPercent,
  isActiveExport,
  pollExport,
  recordPdfUrl,
  type RecordExport,
} from "./audit";
import { ApiError, setCookieSource, setFetch, setXhrFactory, type XhrLike } from "./client";

type Call = { url: string; method: string; body: unknown; headers: Record<string, string> };

/** A fetch answering each call with the next of `answers` ([status, body]), recording the calls. */
function script(...answers: [number, unknown][]) {
  const calls: Call[] = [];
  let i = 0;
  setFetch(
    vi.fn(async (url: string, init?: RequestInit) => {
      calls.push({
        url,
        method: init?.method ?? "GET",
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
        headers: init?.headers as Record<string, string>,
      });
      const [status, body] = answers[Math.min(i++, answers.length - 1)];
      if (status === 0) throw new TypeError("Failed to fetch");
      return new Response(JSON.stringify(body), { status });
    }),
  );
  return calls;
}

const exp = (patch: Partial<RecordExport>): RecordExport => ({
  id: 7,
  status: "queued",
  total: 4,
  done: 0,
  size: null,
  sha256: null,
  error: null,
  filters: { region: "EAST" },
  created_at: "2026-11-22T01:00:00Z",
  finished_at: null,
  ...patch,
});

afterEach(() => {
  setFetch((input, init) => fetch(input, init));
  setCookieSource(() => "");
  vi.useRealTimers();
});

describe("audit endpoints", () => {
  it("searches with the API's parameter names, leaving empty ones out", async () => {
    const calls = script([200, { items: [], total: 0, page: 1, per_page: 20 }]);
    await auditApi.search({
      region: "EAST",
      created_from: "2026-11-01",
      q: "",
      status: undefined,
      page: 2,
      per_page: 50,
    });
    const url = new URL(calls[0].url, "http://x");
    expect(url.pathname).toBe("/api/v1/process-instances");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      region: "EAST",
      created_from: "2026-11-01",
      page: "2",
      per_page: "50",
    });
  });

  it("starts an export with the search as JSON and the CSRF header; reads mine and one", async () => {
    setCookieSource(() => "csrf_token=tok123");
    const calls = script([202, exp({})], [200, [exp({})]], [200, exp({ status: "running", done: 1 })]);
    const started = await auditApi.createExport({ region: "EAST", q: "", metadata_min: "capex:100" });
    expect(started.status).toBe("queued");
    await auditApi.exports();
    await auditApi.exportStatus(7);
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ["POST", "/api/v1/record-exports", { region: "EAST", metadata_min: "capex:100" }],
      ["GET", "/api/v1/record-exports", undefined],
      ["GET", "/api/v1/record-exports/7", undefined],
    ]);
    expect(calls[0].headers["X-CSRF-Token"]).toBe("tok123");
  });

  it("turns the API's 400 into an ApiError with its message", async () => {
    script([400, { error: { code: "bad_request", message: "no request matches the search: nothing to export" } }]);
    const err = await auditApi.createExport({ region: "WEST" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toMatch(/nothing to export/);
  });

  it("loads a model by its path id", async () => {
    const calls = script([200, { id: "eto/eto-change-order", display_name: "x", files: {} }]);
    await auditApi.model("eto/eto-change-order");
    expect(calls[0].url).toBe("/api/v1/process-models/eto%3Aeto-change-order");
  });

  it("uploads a PDF to verify as multipart field `file`", async () => {
    const sent: { url?: string; body?: FormData; headers: Record<string, string> } = { headers: {} };
    const xhr: XhrLike = {
      open: (_m, url) => (sent.url = url),
      setRequestHeader: (k, v) => (sent.headers[k] = v),
      send(body) {
        sent.body = body;
        setTimeout(() => this.onload?.(), 0);
      },
      abort: () => undefined,
      getResponseHeader: () => null,
      withCredentials: false,
      status: 200,
      statusText: "OK",
      responseText: JSON.stringify({ ok: true, level: "B-LTA", signatures: [], audit: { checked: true } }),
      upload: { onprogress: null },
      onload: null,
      onerror: null,
      onabort: null,
    };
    setXhrFactory(() => xhr);
    setCookieSource(() => "csrf_token=abc");
    const file = new File([new Uint8Array([37, 80, 68, 70])], "request-1-record.pdf", { type: "application/pdf" });
    const verdict = await auditApi.verify(file);
    expect(verdict.ok).toBe(true);
    expect(sent.url).toBe("/api/v1/records/verify");
    expect(sent.headers["X-CSRF-Token"]).toBe("abc");
    expect((sent.body!.get("file") as File).name).toBe("request-1-record.pdf");
  });

  it("builds the download addresses", () => {
    expect(recordPdfUrl(12)).toBe("/api/v1/process-instances/12/record.pdf");
    expect(exportDownloadUrl(3)).toBe("/api/v1/record-exports/3/download");
    expect(CA_PEM_URL).toBe("/api/v1/records/ca.pem");
  });
});

describe("export progress", () => {
  it("computes the bar and what is still running", () => {
    expect(exportPercent(exp({ status: "running", done: 1, total: 3 }))).toBe(33);
    expect(exportPercent(exp({ status: "queued", total: 0 }))).toBe(0);
    expect(exportPercent(exp({ status: "done", done: 0, total: 0 }))).toBe(100);
    expect(isActiveExport(exp({ status: "queued" }))).toBe(true);
    expect(isActiveExport(exp({ status: "running" }))).toBe(true);
    expect(isActiveExport(exp({ status: "failed" }))).toBe(false);
    expect(cleanBody({ a: "", b: undefined, c: "x" } as never)).toEqual({ c: "x" });
  });

  it("polls every interval until done, reporting each state, riding out a network blip", async () => {
    vi.useFakeTimers();
    const calls = script(
      [200, exp({ status: "running", done: 1 })],
      [0, null],
      [200, exp({ status: "running", done: 3 })],
      [200, exp({ status: "done", done: 4, sha256: "ab", size: 10 })],
    );
    const seen: string[] = [];
    const retries: number[] = [];
    const final = pollExport(7, (e) => seen.push(`${e.status}:${e.done}`), {
      intervalMs: 1500,
      onRetry: (e) => retries.push(e.status),
    });
    await vi.advanceTimersByTimeAsync(1499);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1500 * 3);
    await expect(final).resolves.toMatchObject({ status: "done", sha256: "ab" });
    expect(seen).toEqual(["running:1", "running:3", "done:4"]);
    expect(retries).toEqual([0]);
    expect(calls.every((c) => c.url === "/api/v1/record-exports/7")).toBe(true);
  });

  it("stops at a failed export, on a 404, and when aborted", async () => {
    vi.useFakeTimers();
    script([200, exp({ status: "failed", error: "OSError: disk full" })]);
    const failed = pollExport(7, () => undefined, { intervalMs: 10 });
    await vi.advanceTimersByTimeAsync(10);
    await expect(failed).resolves.toMatchObject({ status: "failed", error: "OSError: disk full" });

    script([404, { error: { code: "not_found", message: "export 7 not found" } }]);
    const gone = pollExport(7, () => undefined, { intervalMs: 10 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    expect(((await gone) as ApiError).status).toBe(404);

    const controller = new AbortController();
    const aborted = pollExport(7, () => undefined, { intervalMs: 1000, signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    controller.abort();
    expect(((await aborted) as DOMException).name).toBe("AbortError");
  });
});

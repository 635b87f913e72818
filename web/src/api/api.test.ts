import { afterEach, describe, expect, it, vi } from "vitest";
import { parseRetryAfter, request, setCookieSource, setFetch, setXhrFactory, type XhrLike } from "./client";
import { api, ApiError, attachmentUrl, shaOf } from "./index";

type Call = { url: string; method: string; body: unknown; headers: Record<string, string> };

/** A fetch that records calls and answers `body` (status 200 unless given). */
function recorder(answer: unknown = {}, status = 200, headers: Record<string, string> = {}) {
  const calls: Call[] = [];
  setFetch(
    vi.fn(async (url: string, init?: RequestInit) => {
      calls.push({
        url,
        method: init?.method ?? "GET",
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
        headers: init?.headers as Record<string, string>,
      });
      return new Response(status === 204 ? null : JSON.stringify(answer), { status, headers });
    }),
  );
  return calls;
}

afterEach(() => {
  setFetch((input, init) => fetch(input, init));
  setCookieSource(() => "");
});

describe("task action endpoints", () => {
  it("POST each action to /tasks/<id>/<action> with the documented body", async () => {
    const calls = recorder();
    await api.claim(5);
    await api.unclaim(5);
    await api.transfer(5, "north_planner", "  我休假  ");
    await api.transfer(5, "north_planner", "   ");
    await api.addApprover(5, { users: ["cfo"], position: "after", sign: "all", comment: "", data: { ok: true } });
    await api.sendBack(5, "submit_request", " 缺图纸 ");
    await api.ccTask(5, ["legal"], "供参考");
    await api.urgeTask(5);
    await api.commentTask(5, "见附件", ["sha256:" + "a".repeat(64)]);
    await api.commentTask(5, "无附件");
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ["POST", "/api/v1/tasks/5/claim", {}],
      ["POST", "/api/v1/tasks/5/unclaim", {}],
      ["POST", "/api/v1/tasks/5/transfer", { to: "north_planner", comment: "我休假" }],
      ["POST", "/api/v1/tasks/5/transfer", { to: "north_planner" }],
      ["POST", "/api/v1/tasks/5/add-approver", { users: ["cfo"], position: "after", sign: "all", data: { ok: true } }],
      ["POST", "/api/v1/tasks/5/send-back", { to: "submit_request", comment: "缺图纸" }],
      ["POST", "/api/v1/tasks/5/cc", { users: ["legal"], comment: "供参考" }],
      ["POST", "/api/v1/tasks/5/urge", {}],
      ["POST", "/api/v1/tasks/5/comment", { body: "见附件", attachments: ["sha256:" + "a".repeat(64)] }],
      ["POST", "/api/v1/tasks/5/comment", { body: "无附件" }],
    ]);
  });

  it("saves drafts with PUT, reads targets and batch-approves", async () => {
    const calls = recorder({ data: {}, saved_at: "2026-05-01T00:00:00Z" });
    await api.saveDraft(8, { order_no: "ETO-1" });
    await api.sendBackTargets(8);
    await api.batchApprove([1, 2], "");
    await api.batchApprove([3], "ok");
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ["PUT", "/api/v1/tasks/8/draft", { data: { order_no: "ETO-1" } }],
      ["GET", "/api/v1/tasks/8/send-back-targets", undefined],
      ["POST", "/api/v1/tasks/batch-approve", { task_ids: [1, 2] }],
      ["POST", "/api/v1/tasks/batch-approve", { task_ids: [3], comment: "ok" }],
    ]);
  });

  it("reads inbox counts, CCs, comments, notifications and the directory", async () => {
    const calls = recorder({ items: [], total: 0, page: 1, per_page: 20 });
    await api.inboxCounts();
    await api.cc({ unread: true, page: 2, per_page: 20 });
    await api.cc({ unread: false, page: 1 });
    await api.comments(3);
    await api.addComment(3, "hi");
    await api.ccInstance(3, ["a", "b"]);
    await api.urgeInstance(3, "请尽快");
    await api.notifications({ unread: true, per_page: 1 });
    await api.markNotificationRead(9);
    await api.markAllNotificationsRead();
    await api.directory({ q: "张", per_page: 20 });
    await api.attachmentMeta("sha256:" + "b".repeat(64));
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ["GET", "/api/v1/inbox/counts", undefined],
      ["GET", "/api/v1/cc?unread=true&page=2&per_page=20", undefined],
      ["GET", "/api/v1/cc?page=1", undefined],
      ["GET", "/api/v1/process-instances/3/comments", undefined],
      ["POST", "/api/v1/process-instances/3/comments", { body: "hi" }],
      ["POST", "/api/v1/process-instances/3/cc", { users: ["a", "b"] }],
      ["POST", "/api/v1/process-instances/3/urge", { comment: "请尽快" }],
      ["GET", "/api/v1/notifications?unread=true&per_page=1", undefined],
      ["POST", "/api/v1/notifications/9/read", undefined],
      ["POST", "/api/v1/notifications/read-all", undefined],
      ["GET", "/api/v1/directory?q=%E5%BC%A0&per_page=20", undefined],
      ["GET", "/api/v1/attachments/" + "b".repeat(64) + "/meta", undefined],
    ]);
  });

  it("turns a 429 into an ApiError that knows how long to wait", async () => {
    recorder({ error: { code: "too_many_requests", message: "urged recently" } }, 429, { "Retry-After": "600" });
    const e = (await api.urgeTask(1).catch((x: unknown) => x)) as ApiError;
    expect(e.isTooManyRequests).toBe(true);
    expect(e.retryAfter).toBe(600);
    recorder({ error: { code: "too_many_requests", message: "x", details: { retry_after: 90 } } }, 429);
    expect(((await request("/x").catch((x: unknown) => x)) as ApiError).retryAfter).toBe(90);
  });

  it("parses Retry-After as seconds or a date", () => {
    expect(parseRetryAfter("120")).toBe(120);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
    const now = Date.parse("2026-05-01T00:00:00Z");
    expect(parseRetryAfter("Fri, 01 May 2026 00:10:00 GMT", now)).toBe(600);
  });

  it("builds download URLs from refs", () => {
    const hex = "c".repeat(64);
    expect(shaOf(`sha256:${hex}`)).toBe(hex);
    expect(attachmentUrl(`sha256:${hex}`)).toBe(`/api/v1/attachments/${hex}`);
  });
});

/** A scripted XMLHttpRequest: answers `status`/`body` after reporting some progress. */
class FakeXhr implements XhrLike {
  static last: FakeXhr | null = null;
  method = "";
  url = "";
  headers: Record<string, string> = {};
  sent: FormData | null = null;
  withCredentials = false;
  status = 0;
  statusText = "";
  responseText = "";
  responseHeaders: Record<string, string> = {};
  upload: XhrLike["upload"] = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor(private answer: { status: number; body: unknown; headers?: Record<string, string> } | "network") {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  getResponseHeader(name: string) {
    return this.responseHeaders[name] ?? null;
  }
  abort() {
    this.onabort?.();
  }
  send(body: FormData) {
    this.sent = body;
    queueMicrotask(() => {
      if (this.answer === "network") return this.onerror?.();
      this.upload.onprogress?.({ loaded: 50, total: 100, lengthComputable: true });
      this.status = this.answer.status;
      this.responseText = JSON.stringify(this.answer.body);
      this.responseHeaders = this.answer.headers ?? {};
      this.onload?.();
    });
  }
}

describe("uploadAttachment", () => {
  const file = () => new File(["%PDF-1.4"], "发票.pdf", { type: "application/pdf" });

  it("posts the file as multipart field `file` with the CSRF header and reports progress", async () => {
    setCookieSource(() => "csrf_token=tok");
    const hex = "d".repeat(64);
    const meta = { ref: `sha256:${hex}`, sha256: hex, filename: "发票.pdf", content_type: "application/pdf", size: 8 };
    setXhrFactory(() => new FakeXhr({ status: 201, body: meta }));
    const progress: number[] = [];
    const res = await api.uploadAttachment(file(), { onProgress: (p) => progress.push(p) });
    expect(res).toEqual(meta);
    const xhr = FakeXhr.last!;
    expect([xhr.method, xhr.url]).toEqual(["POST", "/api/v1/attachments"]);
    expect(xhr.headers["X-CSRF-Token"]).toBe("tok");
    expect(xhr.withCredentials).toBe(true);
    expect((xhr.sent?.get("file") as File).name).toBe("发票.pdf");
    expect(progress).toEqual([50, 100]);
  });

  it("reports 413 and 415 as ApiErrors, and a dropped connection as status 0", async () => {
    setXhrFactory(() => new FakeXhr({ status: 413, body: { error: { code: "too_large", message: "too large" } } }));
    const big = (await api.uploadAttachment(file()).catch((e: unknown) => e)) as ApiError;
    expect(big.isTooLarge).toBe(true);
    setXhrFactory(() => new FakeXhr({ status: 415, body: { error: { code: "unsupported", message: "no" } } }));
    expect(((await api.uploadAttachment(file()).catch((e: unknown) => e)) as ApiError).isUnsupportedType).toBe(true);
    setXhrFactory(() => new FakeXhr("network"));
    expect(((await api.uploadAttachment(file()).catch((e: unknown) => e)) as ApiError).isNetwork).toBe(true);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ApiError,
  errorFromBody,
  fieldErrorsOf,
  onUnauthorized,
  readCookie,
  request,
  setCookieSource,
  setFetch,
  withQuery,
} from "./client";

function respond(status: number, body: unknown, statusText = "") {
  const text = typeof body === "string" ? body : body === undefined ? "" : JSON.stringify(body);
  return vi.fn(async () => new Response(status === 204 ? null : text, { status, statusText }));
}

afterEach(() => {
  setFetch((input, init) => fetch(input, init));
  setCookieSource(() => "");
});

describe("request", () => {
  it("returns parsed JSON and sends JSON with the session cookie", async () => {
    const f = respond(200, { ok: 1 });
    setFetch(f);
    expect(await request("/x", { method: "POST", body: { a: 1 } })).toEqual({ ok: 1 });
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/v1/x");
    expect(init.credentials).toBe("same-origin");
    expect(init.body).toBe('{"a":1}');
    expect((init.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
  });

  it("returns undefined for 204", async () => {
    setFetch(respond(204, undefined));
    expect(await request("/auth/logout", { method: "POST" })).toBeUndefined();
  });

  it("turns a 422 into field errors (top-level errors)", async () => {
    setFetch(
      respond(422, {
        error: { code: "validation_error", message: "the submitted data is not valid", details: { errors: [] } },
        errors: [
          {
            path: "/order_no",
            message: "订单号 has an invalid format",
            message_zh: "订单号格式不正确",
            code: "pattern",
          },
        ],
      }),
    );
    const err = await request("/tasks/1/complete", { method: "POST", body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.isValidation).toBe(true);
    expect(e.code).toBe("validation_error");
    expect(e.fieldErrors).toEqual([
      { path: "/order_no", message: "订单号 has an invalid format", message_zh: "订单号格式不正确", code: "pattern" },
    ]);
  });

  it("reads field errors from error.details.errors too, ignoring junk", () => {
    expect(fieldErrorsOf({ error: { details: { errors: [{ path: "/a", message: "m" }, { nope: 1 }] } } })).toEqual([
      { path: "/a", message: "m" },
    ]);
    expect(fieldErrorsOf(null)).toEqual([]);
  });

  it("flags 409 conflicts and 403/404", async () => {
    setFetch(respond(409, { error: { code: "conflict", message: "task 2 is already completed", details: null } }));
    const e = (await request("/tasks/2/complete", { method: "POST", body: {} }).catch((x: unknown) => x)) as ApiError;
    expect(e.isConflict).toBe(true);
    expect(e.message).toBe("task 2 is already completed");
    expect(errorFromBody(404, { error: { code: "not_found", message: "x" } }).isNotFound).toBe(true);
    expect(errorFromBody(403, {}).isForbidden).toBe(true);
  });

  it("survives a non-JSON error page", async () => {
    setFetch(respond(502, "<html>Bad gateway</html>", "Bad Gateway"));
    const e = (await request("/x").catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(502);
    expect(e.code).toBe("http_502");
    expect(e.message).toBe("Bad Gateway");
  });

  it("reports a network failure as status 0", async () => {
    setFetch(vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const e = (await request("/x").catch((x: unknown) => x)) as ApiError;
    expect(e.isNetwork).toBe(true);
  });

  it("tells listeners about a 401 unless asked to stay quiet", async () => {
    const seen: number[] = [];
    const off = onUnauthorized((e) => seen.push(e.status));
    setFetch(respond(401, { error: { code: "unauthorized", message: "sign in first" } }));
    await request("/me", { quiet401: true }).catch(() => undefined);
    expect(seen).toEqual([]);
    await request("/tasks").catch(() => undefined);
    expect(seen).toEqual([401]);
    setFetch(respond(403, { error: { code: "csrf_failed", message: "missing or wrong X-CSRF-Token header" } }));
    await request("/tasks/1/complete", { method: "POST", body: {} }).catch(() => undefined);
    setFetch(respond(403, { error: { code: "forbidden", message: "not yours" } }));
    await request("/tasks/1/complete", { method: "POST", body: {} }).catch(() => undefined);
    expect(seen).toEqual([401, 403]); // a lost CSRF cookie signs out; an ordinary 403 does not
    off();
  });
});

describe("CSRF protection", () => {
  it("echoes the csrf_token cookie on unsafe requests only", async () => {
    setCookieSource(() => "lang=zh; csrf_token=abc%2D123; other=1");
    const f = respond(200, {});
    setFetch(f);
    await request("/tasks/1/complete", { method: "POST", body: { data: {} } });
    await request("/tasks");
    const headers = (i: number) =>
      (f.mock.calls[i] as unknown as [string, RequestInit])[1].headers as Record<string, string>;
    expect(headers(0)["X-CSRF-Token"]).toBe("abc-123");
    expect(headers(1)["X-CSRF-Token"]).toBeUndefined();
  });

  it("sends no header without the cookie", async () => {
    const f = respond(200, {});
    setFetch(f);
    await request("/auth/login", { method: "POST", body: {} });
    expect(
      ((f.mock.calls[0] as unknown as [string, RequestInit])[1].headers as Record<string, string>)["X-CSRF-Token"],
    ).toBeUndefined();
  });

  it("reads cookies exactly by name", () => {
    expect(readCookie("xcsrf_token=1; csrf_token=2", "csrf_token")).toBe("2");
    expect(readCookie("", "csrf_token")).toBeNull();
    expect(readCookie('csrf_token="q"', "csrf_token")).toBe("q");
  });
});

describe("withQuery", () => {
  it("drops empty values and encodes the rest", () => {
    expect(withQuery("/tasks", { scope: "mine", q: "", region: undefined, page: 2, metadata: "customer:宁德" })).toBe(
      "/tasks?scope=mine&page=2&metadata=customer%3A%E5%AE%81%E5%BE%B7",
    );
    expect(withQuery("/tasks")).toBe("/tasks");
  });
});

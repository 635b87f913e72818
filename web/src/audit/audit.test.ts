// The audit page's texts (i18n/audit.*.json) and its verdict checklist.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Verdict } from "../api/audit";
import auditEn from "../i18n/audit.en.json";
import auditZh from "../i18n/audit.zh-CN.json";
import en from "../i18n/en.json";
import zhCN from "../i18n/zh-CN.json";
import { describeFilters } from "./FilterSummary";
import { EMPTY_FILTERS } from "./filters";
import { startsOnAudit } from "./HomeRedirect";
import { auditErrorText } from "./messages";
import { checkWording, verdictChecks } from "./verdict";
import { ApiError } from "../api/client";

type Tree = { [key: string]: string | Tree };
function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}
const zh = flatten(auditZh as Tree);
const english = flatten(auditEn as Tree);
const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

/** A t() good enough for the pure helpers: the Chinese text with its variables filled in. */
const t = ((key: string, opts?: Record<string, unknown>) => {
  const text = zh.get(key) ?? (key.startsWith("status.") ? key.slice(7) : key);
  return text.replace(/\{\{(\w+)\}\}/g, (_, v: string) => String(opts?.[v] ?? ""));
}) as never;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.tsx?$/.test(name) && !name.endsWith(".test.ts") ? [p] : [];
  });
}

describe("audit translations", () => {
  it("have the same keys and variables in Chinese and English, none empty", () => {
    expect([...zh.keys()].filter((k) => !english.has(k))).toEqual([]);
    expect([...english.keys()].filter((k) => !zh.has(k))).toEqual([]);
    expect([...zh, ...english].filter(([, v]) => !v.trim())).toEqual([]);
    expect([...zh.keys()].filter((k) => vars(zh.get(k)!).join() !== vars(english.get(k)!).join())).toEqual([]);
  });

  it("live under their own top-level key, clashing with nothing in the main files", () => {
    expect(Object.keys(auditZh)).toEqual(["audit"]);
    expect(Object.keys(auditEn)).toEqual(["audit"]);
    expect("audit" in zhCN).toBe(false);
    expect("audit" in en).toBe(false);
  });

  it("define every audit.* key the code names", () => {
    const src = join(__dirname, "..");
    const used = new Set<string>();
    for (const file of [
      ...sources(join(src, "audit")),
      join(src, "pages", "AuditPage.tsx"),
      join(src, "components", "AppShell.tsx"),
    ]) {
      for (const m of readFileSync(file, "utf8").matchAll(/["'`](audit\.[\w.-]+)["'`]/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(50);
    expect([...used].filter((k) => !zh.has(k))).toEqual([]);
    // keys built at run time
    for (const s of ["queued", "running", "done", "failed"]) expect(zh.has(`audit.export.status.${s}`)).toBe(true);
    for (const s of ["-created", "created", "-updated", "updated"])
      expect(zh.has(`audit.results.sorts.${s}`)).toBe(true);
  });
});

const goodVerdict: Verdict = {
  ok: true,
  reason: null,
  level: "B-LTA",
  signatures: [
    {
      field_name: "RecordSignature",
      kind: "signature",
      revision: 1,
      signer: "CN=Demo",
      signer_sha256: "aa",
      intact: true,
      valid: true,
      trusted: true,
      signing_time: null,
      timestamp: { time: "2026-11-22T00:56:43Z", intact: true, valid: true, trusted: true, tsa: "TSA", ok: true },
      coverage: "ENTIRE_REVISION",
      modification_level: "LTA_UPDATES",
      subfilter: "/ETSI.CAdES.detached",
      ades_indication: "AdESPassed.OK",
      problems: [],
      ok: true,
    },
  ],
  document_timestamps: [],
  dss: { certs: 3, crls: 1, ocsps: 0 },
  record: { instance_id: 1, chain_head: "ab", event_count: 4, interim: true },
  problems: [],
  chain_head: "ab",
  instance_id: 1,
  audit: {
    checked: true,
    instance_id: 1,
    chain_intact: true,
    matches: true,
    current: true,
    reason: null,
    problems: [],
  },
};

describe("the verdict checklist", () => {
  it("passes every check of a good B-LTA record, time in China time", () => {
    const checks = verdictChecks(goodVerdict);
    expect(checks.map((c) => `${c.key}:${c.state}`)).toEqual([
      "intact:pass",
      "valid:pass",
      "trusted:pass",
      "timestamp:pass",
      "lta:pass",
      "chain:pass",
      "current:pass",
    ]);
    expect(checks[3].values?.time).toBe("2026-11-22 08:56:43");
    expect(checks.map((c) => checkWording(c, goodVerdict)).every((k) => zh.has(k))).toBe(true);
  });

  it("flags a changed, untrusted, B-T record whose chain head is unknown", () => {
    const bad: Verdict = {
      ...goodVerdict,
      ok: false,
      level: "B-T",
      signatures: [{ ...goodVerdict.signatures[0], intact: false, trusted: false }],
      audit: {
        checked: true,
        matches: false,
        chain_intact: true,
        reason: "the chain head in the record is not in the audit log",
      },
    };
    const states = Object.fromEntries(verdictChecks(bad).map((c) => [c.key, c.state]));
    expect(states).toEqual({
      intact: "fail",
      valid: "pass",
      trusted: "fail",
      timestamp: "pass",
      lta: "fail",
      chain: "fail",
    });
  });

  it("says when a genuine record is no longer the newest, and when there was nothing to check", () => {
    const older = { ...goodVerdict, audit: { ...goodVerdict.audit, current: false } };
    expect(verdictChecks(older).find((c) => c.key === "current")?.state).toBe("info");
    const unsigned: Verdict = {
      ...goodVerdict,
      ok: false,
      level: null,
      signatures: [],
      record: null,
      audit: { checked: false },
    };
    const checks = verdictChecks(unsigned);
    expect(checks.every((c) => c.state === "fail")).toBe(true);
    expect(
      checkWording(
        checks.find((c) => c.key === "chain")!,
        unsigned,
      ),
    ).toBe("audit.verify.checks.chain.unchecked");
    expect(zh.has("audit.verify.checks.chain.unchecked")).toBe(true);
  });
});

describe("plain errors and summaries", () => {
  it("words the export 400s, other 400s and network failures", () => {
    const e400 = (m: string) => new ApiError(400, "bad_request", m);
    expect(auditErrorText(e400("no request matches the search: nothing to export"), t)).toBe(
      "没有符合条件的申请，无需导出。",
    );
    expect(auditErrorText(e400("at most 1000 records per export: narrow the search"), t)).toBe(
      "一次最多导出 1000 份记录，请缩小查询范围。",
    );
    expect(auditErrorText(e400("created_from: 'x' is not a date (YYYY-MM-DD) or ISO 8601 time"), t)).toContain(
      "created_from: 'x'",
    );
    expect(auditErrorText(new ApiError(0, "network_error", "x"), t)).toBe("common.networkError");
    const hidden = new ApiError(400, "bad_request", "you may not filter on 'irr'", { field: "metadata", value: "irr" });
    expect(auditErrorText(hidden, t)).toBe("你无权按字段“irr”查询（该字段对你不可见）");
  });

  it("describes a search in words", () => {
    const parts = describeFilters(
      { ...EMPTY_FILTERS, region: "EAST", from: "2026-11-01", amountKey: "capex", amountMin: "100000" },
      t,
      "zh-CN",
      [],
      undefined,
    );
    expect(parts).toEqual(["区域 region.EAST", "创建日期 2026-11-01 ~ …", "投资额（元） ≥ 100,000"]);
  });

  it("starts auditors and admins on the audit page", () => {
    expect(startsOnAudit(["auditor"])).toBe(true);
    expect(startsOnAudit(["admin"])).toBe(true);
    expect(startsOnAudit(["operations"])).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import en from "./en.json";
import zhCN from "./zh-CN.json";

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

const zh = flatten(zhCN as Tree);
const english = flatten(en as Tree);
const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

describe("translations", () => {
  it("have the same keys in Chinese and English", () => {
    expect([...zh.keys()].filter((k) => !english.has(k))).toEqual([]);
    expect([...english.keys()].filter((k) => !zh.has(k))).toEqual([]);
  });

  it("have no empty strings", () => {
    expect([...zh, ...english].filter(([, v]) => !v.trim()).map(([k]) => k)).toEqual([]);
  });

  it("use the same {{variables}} in both languages", () => {
    const mismatched = [...zh.keys()].filter(
      (k) => english.has(k) && vars(zh.get(k)!).join() !== vars(english.get(k)!).join(),
    );
    expect(mismatched).toEqual([]);
  });

  it("name every instance status, region and timeline event the API sends", () => {
    for (const s of [
      "running",
      "waiting",
      "complete",
      "withdrawn",
      "terminated",
      "error",
      "open",
      "completed",
      "cancelled",
    ]) {
      expect(zh.has(`status.${s}`), s).toBe(true);
    }
    for (const r of ["HQ", "EAST", "SOUTH", "NORTH", "WEST"]) expect(zh.has(`region.${r}`), r).toBe(true);
    for (const e of [
      "instance_started",
      "task_created",
      "task_completed",
      "instance_completed",
      "instance_withdrawn",
      "timer_fired",
      "instance_error",
    ]) {
      expect(zh.has(`event.${e}`), e).toBe(true);
    }
  });

  it("keep Chinese text in the Chinese file", () => {
    expect(zh.get("inbox.tabs.mine")).toBe("我的待办");
    expect(zh.get("task.alreadyHandled")).toBe("已被他人处理");
    expect(english.get("task.alreadyHandled")).toBe("Already handled");
  });
});

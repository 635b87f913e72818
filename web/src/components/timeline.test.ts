import { describe, expect, it } from "vitest";
import type { TimelineEvent } from "../api";
import i18n from "../i18n";
import { describeEvent } from "./timeline";

const zh = i18n.getFixedT("zh-CN");
const en = i18n.getFixedT("en");
const ev = (type: string, data: Record<string, unknown>, actor = "east_planner"): TimelineEvent => ({
  seq: 1,
  at: "2026-05-01T02:00:00Z",
  actor,
  type,
  bpmn_id: null,
  data,
});

describe("describeEvent", () => {
  it("reads a transfer as who → whom, with the comment", () => {
    const v = describeEvent(
      ev("task_transferred", { task: "计划员分诊", from: "east_planner", to: "north_planner", comment: "我休假" }),
      zh,
    );
    expect(v).toMatchObject({
      actor: "east_planner",
      verb: "转交",
      task: "计划员分诊",
      target: "east_planner → north_planner",
      comment: "我休假",
    });
    expect(describeEvent(ev("task_transferred", { task: "T", from: "a", to: "b" }), en).verb).toBe("transferred");
    // the server sends who had it as a list: the assignee, or every member of the group
    expect(describeEvent(ev("task_transferred", { from: ["east_planner"], to: "east_manager" }), zh).target).toBe(
      "east_planner → east_manager",
    );
    expect(describeEvent(ev("task_transferred", { from: ["a", "b", "c", "d", "e"], to: "x" }), zh).target).toBe(
      "a、b、c 等 5 人 → x",
    );
    expect(describeEvent(ev("task_transferred", { from: [], to: "x" }), en).target).toBe("→ x");
  });

  it("reads 加签 with its people, position and sign", () => {
    const v = describeEvent(
      ev("approver_added", { task: "销售总监审批", users: ["cfo", "gm"], position: "before", sign: "any" }),
      zh,
    );
    expect(v.verb).toBe("加签");
    expect(v.target).toBe("cfo、gm");
    expect(v.tags.map((t) => t.text)).toEqual(["前加签", "或签（一人即可）"]);
    // one person: all/any is moot, not shown
    const one = describeEvent(ev("approver_added", { users: ["cfo"], position: "after", sign: "all" }), en);
    expect(one.target).toBe("cfo");
    expect(one.tags.map((t) => t.text)).toEqual(["After me"]);
    expect(describeEvent(ev("approver_added", { users: ["a", "b"] }), en).target).toBe("a, b");
  });

  it("reads an added approver's answer as a coloured decision", () => {
    const v = describeEvent(
      ev("added_approver_answered", { task: "X", decision: "reject", comment: "价格太高" }, "cfo"),
      zh,
    );
    expect(v.tags).toEqual([{ text: "不同意", color: "red" }]);
    expect(v.comment).toBe("价格太高");
  });

  it("reads a send-back as back to a named step, with its reason", () => {
    const v = describeEvent(
      ev("task_sent_back", {
        task: "计划员分诊",
        to: "submit_request",
        to_name: "提交需求置换申请",
        comment: "缺图纸",
      }),
      zh,
    );
    expect(v).toMatchObject({ verb: "退回", task: "计划员分诊", target: "至「提交需求置换申请」", comment: "缺图纸" });
    expect(describeEvent(ev("task_sent_back", { to: "submit_request" }), en).target).toBe("to “submit_request”");
  });

  it("reads CC, urge and claim", () => {
    expect(describeEvent(ev("instance_cc", { users: ["cfo", "legal"], comment: "供参考" }), zh)).toMatchObject({
      verb: "抄送",
      target: "cfo、legal",
      comment: "供参考",
    });
    const urged = describeEvent(ev("task_urged", { task: "仓库评估", notified: ["a", "b", "c"] }, "east_ops"), zh);
    expect(urged).toMatchObject({ verb: "催办", task: "仓库评估", detail: ["已通知 3 人"] });
    expect(describeEvent(ev("task_urged", { notified: 2 }), en).detail).toEqual(["2 notified"]);
    expect(describeEvent(ev("task_claimed", { task: "计划员分诊" }), zh).verb).toBe("认领");
    expect(describeEvent(ev("task_unclaimed", { task: "计划员分诊" }), en).verb).toBe("released");
  });

  it("reads a comment with its body and attachments", () => {
    const sha = "sha256:" + "0f".repeat(32);
    const v = describeEvent(ev("comment_added", { body: "见附件\n第二行", attachments: [sha], task: "仓库评估" }), zh);
    expect(v).toMatchObject({ verb: "评论", comment: "见附件\n第二行", attachments: [sha], task: "仓库评估" });
  });

  it("keeps the older events as they were", () => {
    expect(describeEvent(ev("instance_withdrawn", { reason: "客户取消变更" }, "east_ops"), zh)).toMatchObject({
      verb: "撤回申请",
      detail: ["原因: 客户取消变更"],
    });
    expect(describeEvent(ev("task_delegated", { from: "a", to: "b" }), zh).target).toBe("a → b");
    expect(describeEvent(ev("task_created", { lane: "计划员" }, "system"), zh)).toMatchObject({
      actor: "系统",
      detail: ["计划员"],
    });
    expect(describeEvent(ev("something_new", {}), zh).verb).toBe("something_new");
  });

  it("has a word for every new event kind in both languages", () => {
    for (const type of [
      "task_claimed",
      "task_unclaimed",
      "task_transferred",
      "approver_added",
      "added_approver_answered",
      "task_sent_back",
      "instance_cc",
      "task_urged",
      "comment_added",
    ]) {
      expect(describeEvent(ev(type, {}), zh).verb, type).not.toBe(type);
      expect(describeEvent(ev(type, {}), en).verb, type).not.toBe(type);
    }
  });
});

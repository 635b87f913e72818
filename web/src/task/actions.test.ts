import { describe, expect, it } from "vitest";
import { ApiError, type InstanceDetail, type Task } from "../api";
import i18n from "../i18n";
import {
  actionErrorMessage,
  actionSet,
  addedApprovers,
  instanceActions,
  notificationHref,
  outcomeKey,
  retryMinutes,
  summarizeBatch,
} from "./actions";

const zh = i18n.getFixedT("zh-CN");
const en = i18n.getFixedT("en");

describe("actionSet (what the task page offers)", () => {
  it("shows only what allowed_actions lists, in a fixed order", () => {
    const set = actionSet({
      status: "open",
      allowed_actions: ["comment", "send-back", "complete", "save-draft", "transfer", "cc", "add-approver", "claim"],
    });
    expect(set).toEqual({
      complete: true,
      saveDraft: true,
      claim: true,
      unclaim: false,
      bar: ["transfer", "add-approver", "send-back", "cc", "comment"],
    });
  });

  it("offers nothing the server did not list (a reader, an added approver)", () => {
    expect(actionSet({ status: "open", allowed_actions: [] })).toEqual({
      complete: false,
      saveDraft: false,
      claim: false,
      unclaim: false,
      bar: [],
    });
    // 加签 tasks cannot add approvers or be sent back: the server leaves them out.
    expect(actionSet({ status: "open", allowed_actions: ["complete", "transfer", "comment", "urge"] }).bar).toEqual([
      "transfer",
      "urge",
      "comment",
    ]);
    expect(actionSet({ status: "open", allowed_actions: ["complete", "unclaim", "bogus"] })).toMatchObject({
      unclaim: true,
      bar: [],
    });
  });

  it("never submits a task that is not open, and offers nothing after a 409", () => {
    expect(actionSet({ status: "on_hold", allowed_actions: ["complete", "save-draft", "comment"] })).toMatchObject({
      complete: false,
      saveDraft: false,
      bar: ["comment"],
    });
    expect(actionSet({ status: "open", allowed_actions: ["complete", "transfer"] }, true)).toEqual({
      complete: false,
      saveDraft: false,
      claim: false,
      unclaim: false,
      bar: [],
    });
  });
});

describe("error wording", () => {
  it("says 409 means someone else acted, 429 how long to wait", () => {
    expect(actionErrorMessage(new ApiError(409, "conflict", "task 3 is completed"), zh)).toBe(
      "已被他人处理：此任务已变更，页面已刷新",
    );
    const tooSoon = new ApiError(429, "too_many_requests", "urged recently");
    tooSoon.retryAfter = 1500;
    expect(actionErrorMessage(tooSoon, zh)).toBe("已催办，请 25 分钟后再试");
    expect(actionErrorMessage(tooSoon, en)).toBe("Already urged; try again in 25 min");
    expect(actionErrorMessage(new ApiError(429, "too_many_requests", "x"), zh)).toBe("已催办，请稍后再试");
    expect(actionErrorMessage(new ApiError(0, "network_error", "x"), zh)).toBe("无法连接服务器，请检查网络后重试");
    expect(actionErrorMessage(new ApiError(403, "forbidden", "x"), zh)).toBe("你无权执行此操作");
    expect(actionErrorMessage(new ApiError(400, "bad_request", "comment is required"), zh)).toBe("comment is required");
    expect(actionErrorMessage(new ApiError(413, "too_large", "x"), zh)).toBe("文件太大，服务器拒绝接收");
    expect(actionErrorMessage(new Error("boom"), zh)).toBe("boom");
    expect(actionErrorMessage("?", zh)).toBe("出错了");
  });

  it("rounds Retry-After up to whole minutes, at least one", () => {
    expect(retryMinutes(1)).toBe(1);
    expect(retryMinutes(60)).toBe(1);
    expect(retryMinutes(61)).toBe(2);
    expect(retryMinutes(1800)).toBe(30);
    expect(retryMinutes(null)).toBeNull();
    expect(retryMinutes(undefined)).toBeNull();
  });

  it("reads the blamed field of a 400", () => {
    expect(new ApiError(400, "bad_request", "x", { field: "to" }).field).toBe("to");
    expect(new ApiError(400, "bad_request", "x", null).field).toBeNull();
  });
});

describe("done tab outcomes", () => {
  it("names how a task ended, nothing for a plain completion", () => {
    expect(outcomeKey({ outcome: "sent_back", status: "completed" })).toBe("outcome.sent_back");
    expect(zh(outcomeKey({ outcome: "sent_back", status: "completed" })!)).toBe("已退回");
    expect(outcomeKey({ outcome: null, status: "completed" })).toBeNull();
    expect(outcomeKey({ outcome: undefined, status: "cancelled" })).toBe("status.cancelled");
    for (const o of ["sent_back", "approve", "reject", "auto_skipped"]) {
      expect(zh(`outcome.${o}`)).not.toBe(`outcome.${o}`);
      expect(en(`outcome.${o}`)).not.toBe(`outcome.${o}`);
    }
  });
});

describe("batch approval summary", () => {
  it("counts and words each task's result", () => {
    const s = summarizeBatch(
      [
        { task_id: 1, ok: true, status: 200, error: null },
        { task_id: 2, ok: false, status: 409, error: { code: "conflict", message: "task 2 is completed" } },
        { task_id: 3, ok: false, status: 422, error: "needs input" },
        { task_id: 4, ok: false, status: 400, error: "task 4 is not batch approvable" },
      ],
      zh,
    );
    expect(s.ok).toBe(1);
    expect(s.failed).toBe(3);
    expect(s.lines.map((l) => l.reason)).toEqual([
      "已同意",
      "已被他人处理：此任务已变更，页面已刷新",
      "需要填写表单，请单独办理",
      "task 4 is not batch approvable",
    ]);
    expect(zh("batch.result", { ok: 1, failed: 3 })).toBe("成功 1 项，失败 3 项");
  });
});

describe("notifications and added approvers", () => {
  it("links a notification to its task, else its request", () => {
    expect(notificationHref({ task_id: 7, process_instance_id: 3 })).toBe("/tasks/7");
    expect(notificationHref({ task_id: null, process_instance_id: 3 })).toBe("/requests/3");
    expect(notificationHref({ task_id: null, process_instance_id: null })).toBeNull();
  });

  it("finds a task's added approvers among the request's tasks", () => {
    const tasks = [
      { id: 1, parent_id: null, kind: "task" },
      { id: 2, parent_id: 1, kind: "added" },
      { id: 3, parent_id: 1, kind: "added" },
      { id: 4, parent_id: 9, kind: "added" },
    ] as Pick<Task, "parent_id" | "kind" | "id">[];
    expect(addedApprovers(1, tasks).map((x) => x.id)).toEqual([2, 3]);
  });
});

describe("request page actions", () => {
  const task = (over: Partial<Task>): Task =>
    ({ id: 1, status: "open", assignee: null, candidate_users: [], candidate_groups: ["planner"], ...over }) as Task;
  const inst = (over: Partial<InstanceDetail>) =>
    ({ initiator: "east_ops", status: "running", tasks: [task({})], ...over }) as InstanceDetail;
  const ops = { username: "east_ops", groups: ["operations"] };

  it("lets the initiator urge and CC a running request", () => {
    expect(instanceActions(inst({}), ops)).toEqual({ urge: true, cc: true, comment: true });
    expect(instanceActions(inst({ status: "complete", tasks: [] }), ops)).toMatchObject({ urge: false });
  });

  it("keeps approvers from urging themselves and auditors from writing", () => {
    const mine = inst({ tasks: [task({ assignee: "east_ops" })] });
    expect(instanceActions(mine, ops).urge).toBe(false);
    expect(instanceActions(inst({}), { username: "auditor", groups: ["auditor"] })).toEqual({
      urge: false,
      cc: false,
      comment: false,
    });
    expect(instanceActions(inst({}), { username: "someone", groups: ["quality"] })).toEqual({
      urge: false,
      cc: false,
      comment: true,
    });
    // a member of the task's group is one of its approvers: may CC, not urge
    expect(instanceActions(inst({}), { username: "east_planner", groups: ["planner"] })).toEqual({
      urge: false,
      cc: true,
      comment: true,
    });
  });

  it("follows the server's allowed_actions when it sends them", () => {
    expect(instanceActions(inst({ allowed_actions: ["comment"] }), ops)).toEqual({
      urge: false,
      cc: false,
      comment: true,
    });
  });
});

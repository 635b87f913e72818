import { describe, expect, it } from "vitest";
import { ccQuery, filterable, instanceQuery, readParams, taskQuery, TABS, writeParams } from "./params";

describe("inbox URL state", () => {
  it("defaults to my open tasks, newest first", () => {
    const p = readParams(new URLSearchParams(""));
    expect(p).toEqual({ tab: "mine", q: "", process: "", region: "", sort: "", page: 1, unread: false });
    expect(taskQuery(p)).toMatchObject({ scope: "mine", status: "open", sort: "-created", page: 1, per_page: 20 });
    expect(writeParams(p).toString()).toBe("");
  });

  it("maps tabs to API queries", () => {
    expect(taskQuery(readParams(new URLSearchParams("tab=group&q=ETO&sort=due")))).toMatchObject({
      scope: "group",
      status: "open",
      q: "ETO",
      sort: "due",
    });
    expect(taskQuery(readParams(new URLSearchParams("tab=done")))).toMatchObject({
      scope: "mine",
      status: "completed",
    });
    expect(instanceQuery(readParams(new URLSearchParams("tab=started&region=EAST&page=2")), "east_ops")).toMatchObject({
      initiator: "east_ops",
      region: "EAST",
      page: 2,
      sort: "-created",
    });
  });

  it("ignores junk and round-trips", () => {
    const p = readParams(new URLSearchParams("tab=evil&page=-3&sort=drop"));
    expect(p.tab).toBe("mine");
    expect(p.page).toBe(1);
    expect(taskQuery(p).sort).toBe("-created");
    const q = readParams(new URLSearchParams("tab=group&process=eto/eto-change-order&page=3"));
    expect(readParams(writeParams(q))).toEqual(q);
  });

  it("has the CC tab, with its unread filter only there", () => {
    expect(TABS).toEqual(["mine", "group", "cc", "started", "done"]);
    const cc = readParams(new URLSearchParams("tab=cc&unread=1&page=2"));
    expect(cc).toMatchObject({ tab: "cc", unread: true, page: 2 });
    expect(ccQuery(cc)).toEqual({ unread: true, page: 2, per_page: 20 });
    expect(writeParams(cc).toString()).toBe("tab=cc&page=2&unread=1");
    expect(readParams(new URLSearchParams("tab=mine&unread=1")).unread).toBe(false);
    expect(ccQuery(readParams(new URLSearchParams("tab=cc")))).toEqual({ unread: undefined, page: 1, per_page: 20 });
    expect(filterable("cc")).toEqual({ search: false, selects: false });
    expect(filterable("started")).toEqual({ search: false, selects: true });
    expect(filterable("done")).toEqual({ search: true, selects: true });
  });
});

import { describe, expect, it } from "vitest";
import { instanceQuery, readParams, taskQuery, writeParams } from "./params";

describe("inbox URL state", () => {
  it("defaults to my open tasks, newest first", () => {
    const p = readParams(new URLSearchParams(""));
    expect(p).toEqual({ tab: "mine", q: "", process: "", region: "", sort: "", page: 1 });
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
});

import { describe, expect, it } from "vitest";
import {
  ccQuery,
  filterable,
  instanceQuery,
  processPatch,
  readParams,
  SLA_FILTERS,
  taskQuery,
  TABS,
  writeParams,
} from "./params";

describe("inbox URL state", () => {
  it("defaults to my open tasks, newest first", () => {
    const p = readParams(new URLSearchParams(""));
    expect(p).toEqual({
      tab: "mine",
      q: "",
      process: "",
      region: "",
      sort: "",
      sla: "",
      amount: { key: "", min: "", max: "" },
      page: 1,
      unread: false,
    });
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
    expect(filterable("cc")).toEqual({ search: false, selects: false, sla: false });
    expect(filterable("started")).toEqual({ search: false, selects: true, sla: false });
    expect(filterable("done")).toEqual({ search: true, selects: true, sla: true });
  });

  it("filters task tabs by SLA state, round-tripping through the URL", () => {
    expect(SLA_FILTERS).toEqual(["breached", "due_soon", "on_track", "none"]);
    for (const sla of SLA_FILTERS) {
      for (const tab of ["mine", "group", "done"] as const) {
        const p = readParams(new URLSearchParams(`tab=${tab}&sla=${sla}&page=2`));
        expect(p.sla).toBe(sla);
        expect(taskQuery(p)).toMatchObject({ sla, page: 2 });
        expect(readParams(writeParams(p))).toEqual(p);
      }
    }
    const mine = readParams(new URLSearchParams("sla=due_soon&region=EAST"));
    expect(writeParams(mine).toString()).toBe("region=EAST&sla=due_soon");
    expect(taskQuery(mine)).toMatchObject({ scope: "mine", status: "open", region: "EAST", sla: "due_soon" });
    expect(taskQuery(readParams(new URLSearchParams("tab=done&sla=breached")))).toMatchObject({
      scope: "mine",
      status: "completed",
      sla: "breached",
    });
  });

  it("leaves the SLA filter out when unset, unknown or on a tab without tasks", () => {
    expect(taskQuery(readParams(new URLSearchParams(""))).sla).toBeUndefined();
    const junk = readParams(new URLSearchParams("sla=late"));
    expect(junk.sla).toBe("");
    expect(taskQuery(junk).sla).toBeUndefined();
    expect(writeParams(junk).toString()).toBe("");
    // Requests and CC items have no due time: the filter neither applies nor stays in the URL.
    expect(readParams(new URLSearchParams("tab=started&sla=breached")).sla).toBe("");
    expect(readParams(new URLSearchParams("tab=cc&sla=breached")).sla).toBe("");
    const switched = { ...readParams(new URLSearchParams("sla=breached")), tab: "started" as const };
    expect(writeParams(switched).toString()).toBe("tab=started");
    expect(instanceQuery(switched, "east_ops")).not.toHaveProperty("sla");
  });

  it("keeps an amount range on the chosen process's key in the URL and sends it as metadata_min/max", () => {
    const url = "tab=group&process=station-construction/station-approval&amount=capex&min=100000&max=5000000.50";
    const p = readParams(new URLSearchParams(url));
    expect(p.amount).toEqual({ key: "capex", min: "100000", max: "5000000.50" });
    expect(readParams(writeParams(p))).toEqual(p);
    expect(writeParams(p).get("amount")).toBe("capex");
    expect(taskQuery(p)).toMatchObject({
      scope: "group",
      process: "station-construction/station-approval",
      metadata_min: "capex:100000",
      metadata_max: "capex:5000000.50",
    });
    // One bound only.
    const low = readParams(new URLSearchParams("process=demo/simple-approval&amount=amount&min=1000"));
    expect(taskQuery(low)).toMatchObject({ metadata_min: "amount:1000" });
    expect(taskQuery(low)).not.toHaveProperty("metadata_max");
    expect(writeParams(low).toString()).toBe("process=demo%2Fsimple-approval&amount=amount&min=1000");
    // "Started by me" searches requests by the same range.
    const started = readParams(new URLSearchParams(`tab=started&process=demo/simple-approval&amount=amount&max=9`));
    expect(instanceQuery(started, "east_ops")).toMatchObject({ initiator: "east_ops", metadata_max: "amount:9" });
  });

  it("drops the amount range with the process, and junk amounts", () => {
    const p = readParams(new URLSearchParams("process=demo/simple-approval&amount=amount&min=10&max=20"));
    // Clearing the process filter (or choosing another process) drops the range.
    for (const next of ["", "eto/eto-change-order"]) {
      const changed = { ...p, ...processPatch(next) };
      expect(changed.amount).toEqual({ key: "", min: "", max: "" });
      expect(writeParams(changed).has("amount")).toBe(false);
      expect(taskQuery(changed)).not.toHaveProperty("metadata_min");
    }
    expect(processPatch("")).toMatchObject({ process: "", page: 1 });
    // Without a process, a range in the URL is ignored (its key belongs to some process).
    const orphan = readParams(new URLSearchParams("amount=amount&min=10"));
    expect(orphan.amount).toEqual({ key: "", min: "", max: "" });
    expect(taskQuery(orphan)).not.toHaveProperty("metadata_min");
    // Nor is one kept on the CC tab (no process filter there), nor with a stale process kept in state.
    expect(readParams(new URLSearchParams("tab=cc&process=x&amount=amount&min=1")).amount.key).toBe("");
    expect(taskQuery({ ...p, process: "" })).not.toHaveProperty("metadata_min");
    // Bad numbers and keys are left out; a key without bounds stays out of the URL.
    const junk = readParams(new URLSearchParams("process=x&amount=amount&min=lots&max=1e5"));
    expect(junk.amount).toEqual({ key: "amount", min: "", max: "" });
    expect(writeParams(junk).toString()).toBe("process=x");
    expect(taskQuery(junk)).not.toHaveProperty("metadata_max");
    expect(readParams(new URLSearchParams("process=x&amount=a:b&min=1")).amount.key).toBe("");
    // Typed with thousands separators: normalized.
    expect(readParams(new URLSearchParams("process=x&amount=amount&min=1,000")).amount.min).toBe("1000");
  });
});

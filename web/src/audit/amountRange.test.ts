import { describe, expect, it } from "vitest";
import {
  amountBounds,
  amountProblem,
  hasAmountRange,
  NO_AMOUNT,
  normalizeNumber,
  readAmountRange,
  typedAmountRange,
  writeAmountRange,
} from "./amountRange";
import { readFilters, searchBody, writeFilters } from "./filters";

describe("amount range (audit search and inbox filter)", () => {
  it("round-trips through the URL", () => {
    const r = { key: "capex", min: "100000", max: "5000000.50" };
    const out = new URLSearchParams("region=EAST");
    writeAmountRange(out, r);
    expect(out.toString()).toBe("region=EAST&amount=capex&min=100000&max=5000000.50");
    expect(readAmountRange(out)).toEqual(r);
    const none = new URLSearchParams();
    writeAmountRange(none, { key: "capex", min: "", max: "" });
    writeAmountRange(none, { key: "", min: "1", max: "2" });
    expect(none.toString()).toBe("");
  });

  it("reads only well-formed keys and numbers", () => {
    expect(readAmountRange(new URLSearchParams("min=1"))).toEqual(NO_AMOUNT);
    expect(readAmountRange(new URLSearchParams("amount=a b&min=1"))).toEqual(NO_AMOUNT);
    expect(readAmountRange(new URLSearchParams("amount=cost&min=abc&max=1,000"))).toEqual({
      key: "cost",
      min: "",
      max: "1000",
    });
  });

  it("becomes the API's metadata_min / metadata_max", () => {
    expect(amountBounds({ key: "claim_amount", min: "10", max: "" })).toEqual({ metadata_min: "claim_amount:10" });
    expect(amountBounds({ key: "capex", min: "1", max: "2" })).toEqual({
      metadata_min: "capex:1",
      metadata_max: "capex:2",
    });
    expect(amountBounds({ key: "", min: "1", max: "2" })).toEqual({});
    expect(hasAmountRange({ key: "capex", min: "", max: "2" })).toBe(true);
    expect(hasAmountRange({ key: "capex", min: "", max: "" })).toBe(false);
  });

  it("checks typed bounds before asking the API", () => {
    expect(amountProblem("", "")).toBeNull();
    expect(amountProblem("1,000", "")).toBeNull();
    expect(amountProblem("abc", "")).toBe("number");
    expect(amountProblem("", "1e5")).toBe("number");
    expect(amountProblem("10", "9")).toBe("range");
    expect(amountProblem("9", "10")).toBeNull(); // numbers, not texts
    expect(typedAmountRange("capex", " 1 000 ", "")).toEqual({
      range: { key: "capex", min: "1000", max: "" },
      problem: null,
    });
    expect(typedAmountRange("capex", "", "")).toEqual({ range: NO_AMOUNT, problem: null });
    expect(typedAmountRange("", "5", "")).toEqual({ range: NO_AMOUNT, problem: null });
    expect(typedAmountRange("capex", "5", "1")).toEqual({ range: null, problem: "range" });
    expect(normalizeNumber("-3.5")).toBe("-3.5");
  });

  it("is what the audit search reads and writes", () => {
    const f = readFilters(new URLSearchParams("process=x&amount=capex&min=1&max=2"));
    expect([f.amountKey, f.amountMin, f.amountMax]).toEqual(["capex", "1", "2"]);
    expect(writeFilters(f).toString()).toBe("process=x&amount=capex&min=1&max=2");
    expect(searchBody(f)).toMatchObject({ metadata_min: "capex:1", metadata_max: "capex:2" });
  });
});

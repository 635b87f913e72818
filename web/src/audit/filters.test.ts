import { describe, expect, it } from "vitest";
import {
  EMPTY_FILTERS,
  filterProblems,
  filtersFromBody,
  formFieldOfApiField,
  hasCriteria,
  isDay,
  normalizeNumber,
  parsePair,
  readFilters,
  searchBody,
  searchQuery,
  writeFilters,
  type AuditFilters,
} from "./filters";

const full: AuditFilters = {
  process: "station-construction/station-approval",
  region: "EAST",
  status: ["running", "complete"],
  from: "2026-01-01",
  to: "2026-03-31",
  amountKey: "capex",
  amountMin: "100000",
  amountMax: "5000000.50",
  meta: [
    ["station_name", "南京江宁站"],
    ["po_no", "PO:2026/01"],
  ],
  participant: "east_manager",
  q: "江宁",
  sort: "-updated",
  page: 3,
  perPage: 50,
};

describe("URL <-> filters", () => {
  it("round-trips every criterion through the URL", () => {
    const url = writeFilters(full);
    expect(readFilters(new URLSearchParams(url.toString()))).toEqual(full);
  });

  it("writes a readable, shareable query with only non-defaults", () => {
    expect(writeFilters(EMPTY_FILTERS).toString()).toBe("");
    const url = writeFilters(full);
    expect(url.get("process")).toBe("station-construction:station-approval");
    expect(url.get("status")).toBe("running,complete");
    expect(url.getAll("meta")).toEqual(["station_name:南京江宁站", "po_no:PO:2026/01"]);
    expect([...url.keys()]).toEqual([
      "process",
      "region",
      "status",
      "from",
      "to",
      "amount",
      "min",
      "max",
      "meta",
      "meta",
      "participant",
      "q",
      "sort",
      "page",
      "per_page",
    ]);
  });

  it("reads the model id in either spelling", () => {
    expect(readFilters(new URLSearchParams("process=eto:eto-change-order")).process).toBe("eto/eto-change-order");
    expect(readFilters(new URLSearchParams("process=eto%2Feto-change-order")).process).toBe("eto/eto-change-order");
  });

  it("drops what a hand-edited link gets wrong instead of breaking the page", () => {
    const f = readFilters(
      new URLSearchParams(
        "status=running,bogus,running&from=2026-02-30&to=yesterday&amount=capex&min=abc&max=1,000&meta=nokey&meta=:x&meta=a b:c" +
          "&sort=name&page=-2&per_page=7&q=" +
          "x".repeat(300),
      ),
    );
    expect(f.status).toEqual(["running"]);
    expect(f.from).toBe("");
    expect(f.to).toBe("");
    expect(f.amountKey).toBe("capex");
    expect(f.amountMin).toBe("");
    expect(f.amountMax).toBe("1000");
    expect(f.meta).toEqual([]);
    expect(f.sort).toBe("-created");
    expect(f.page).toBe(1);
    expect(f.perPage).toBe(20);
    expect(f.q).toHaveLength(200);
  });

  it("ignores an amount range without its field and duplicates of a metadata pair", () => {
    const f = readFilters(new URLSearchParams("min=5&max=9&meta=city:南京&meta=city:南京"));
    expect([f.amountKey, f.amountMin, f.amountMax]).toEqual(["", "", ""]);
    expect(f.meta).toEqual([["city", "南京"]]);
    // and a chosen field without bounds is not written
    expect(writeFilters({ ...EMPTY_FILTERS, amountKey: "capex" }).toString()).toBe("");
  });
});

describe("filters -> API", () => {
  it("maps every criterion to the API's names", () => {
    expect(searchBody(full)).toEqual({
      status: "running,complete",
      process: "station-construction:station-approval",
      region: "EAST",
      participant: "east_manager",
      metadata: "station_name:南京江宁站,po_no:PO:2026/01",
      metadata_min: "capex:100000",
      metadata_max: "capex:5000000.50",
      created_from: "2026-01-01",
      created_to: "2026-03-31",
      q: "江宁",
    });
    expect(searchQuery(full)).toMatchObject({ sort: "-updated", page: 3, per_page: 50 });
  });

  it("sends nothing for an empty search (the export body has no paging)", () => {
    expect(searchBody(EMPTY_FILTERS)).toEqual({});
    expect(searchQuery(EMPTY_FILTERS)).toEqual({ sort: "-created", page: 1, per_page: 20 });
    expect(hasCriteria(EMPTY_FILTERS)).toBe(false);
    expect(hasCriteria({ ...EMPTY_FILTERS, region: "WEST" })).toBe(true);
    expect(hasCriteria({ ...EMPTY_FILTERS, page: 4 })).toBe(false);
  });

  it("reads an export's stored filters back as a search", () => {
    const back = filtersFromBody(searchBody(full));
    expect(back).toEqual({ ...full, sort: "-created", page: 1, perPage: 20 });
    expect(filtersFromBody(null)).toEqual(EMPTY_FILTERS);
    expect(
      filtersFromBody({ created_from: "2026-05-01T08:00:00+08:00", metadata_max: "claim_amount:9" }),
    ).toMatchObject({ from: "2026-05-01", amountKey: "claim_amount", amountMin: "", amountMax: "9" });
  });
});

describe("checks before asking the API", () => {
  it("finds ranges the wrong way round, a range without a field, commas in values", () => {
    expect(filterProblems(full)).toEqual([]);
    expect(
      filterProblems({
        ...EMPTY_FILTERS,
        amountMin: "10",
        amountMax: "2",
        from: "2026-02-01",
        to: "2026-01-01",
        meta: [
          ["station_name", "A站,B站"],
          ["bad key", "x"],
        ],
      }),
    ).toEqual([
      { field: "amount", problem: "key" },
      { field: "amount", problem: "range" },
      { field: "dates", problem: "range" },
      { field: "meta", problem: "comma", key: "station_name" },
      { field: "meta", problem: "key", key: "bad key" },
    ]);
  });

  it("compares amounts as numbers, not texts", () => {
    expect(filterProblems({ ...EMPTY_FILTERS, amountKey: "capex", amountMin: "9", amountMax: "10" })).toEqual([]);
  });

  it("knows real days, typed numbers and key:value pairs", () => {
    expect(isDay("2028-02-29")).toBe(true);
    expect(isDay("2026-02-29")).toBe(false);
    expect(isDay("2026-1-1")).toBe(false);
    expect(normalizeNumber(" 1,000,000 ")).toBe("1000000");
    expect(normalizeNumber("1，000.50")).toBe("1000.50");
    expect(normalizeNumber("-3")).toBe("-3");
    expect(normalizeNumber("1e5")).toBe("");
    expect(parsePair("order_no: ETO-1 ")).toEqual(["order_no", "ETO-1"]);
    expect(parsePair("order_no:")).toBeNull();
    expect(parsePair("no-colon")).toBeNull();
  });

  it("maps the server's blamed field to the form", () => {
    expect(formFieldOfApiField("created_from")).toBe("dates");
    expect(formFieldOfApiField("metadata_max")).toBe("amount");
    expect(formFieldOfApiField("metadata")).toBe("meta");
    expect(formFieldOfApiField("initiator")).toBe("participant");
    expect(formFieldOfApiField("sort")).toBeNull();
    expect(formFieldOfApiField(null)).toBeNull();
  });
});

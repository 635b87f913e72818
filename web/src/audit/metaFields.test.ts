import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultAmountKey, metaFieldsOf, visibleFields } from "./metaFields";

const PROCESSES = join(__dirname, "..", "..", "..", "processes");

/** The files of a model folder, as GET /process-models/<id> returns them. */
function modelFiles(path: string): Record<string, string> {
  const dir = join(PROCESSES, path);
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), "utf8")]));
}

describe("metadata fields of a process model", () => {
  it("carries the form's titles of coded choices, so lists read 补贴类型 建设补贴, not construction", () => {
    const subsidy = metaFieldsOf(modelFiles("subsidy/subsidy-claim")).find((f) => f.key === "subsidy_type")!;
    expect(subsidy.options?.get(JSON.stringify("construction"))).toMatch(/建设/);
    expect(subsidy.options?.get(JSON.stringify("operation"))).toMatch(/运营/);
    const quality = metaFieldsOf(modelFiles("quality/field-quality-issue"));
    for (const key of ["severity", "fault_type"]) {
      const field = quality.find((f) => f.key === key)!;
      expect(field.options?.size).toBeGreaterThan(1);
    }
  });

  it("lists the station approval's keys, with form titles and numbers", () => {
    const fields = metaFieldsOf(modelFiles("station-construction/station-approval"));
    expect(fields.map((f) => f.key)).toEqual([
      "station_name",
      "station_code",
      "city",
      "site_type",
      "capex",
      "total_capacity_kw",
      "application_no",
      "contract_no",
      "po_no",
      "outcome",
    ]);
    const capex = fields.find((f) => f.key === "capex")!;
    expect(capex).toMatchObject({ numeric: true, title: "投资总额（元）", titleEn: "Capex (CNY)" });
    expect(fields.find((f) => f.key === "station_name")!.numeric).toBe(false);
    expect(defaultAmountKey(fields)).toBe("capex");
  });

  it("takes computed amounts (no form defines them) by their names", () => {
    const subsidy = metaFieldsOf(modelFiles("subsidy/subsidy-claim"));
    expect(subsidy.filter((f) => f.numeric).map((f) => f.key)).toEqual(["claim_amount"]);
    expect(defaultAmountKey(subsidy)).toBe("claim_amount");
    const settlement = metaFieldsOf(modelFiles("settlement/monthly-reconciliation"));
    expect(defaultAmountKey(settlement)).toBe("total_amount");
  });

  it("hides restricted fields from those who may not filter on them", () => {
    const eto = metaFieldsOf(modelFiles("eto/eto-change-order"));
    const cost = eto.find((f) => f.key === "total_cost_impact")!;
    expect(cost.restrictedTo).toContain("finance");
    expect(visibleFields(eto, ["operations"]).map((f) => f.key)).not.toContain("total_cost_impact");
    expect(visibleFields(eto, ["finance"]).map((f) => f.key)).toContain("total_cost_impact");
    expect(visibleFields(eto, ["auditor"])).toHaveLength(eto.length);
    expect(visibleFields(eto, ["admin"])).toHaveLength(eto.length);
  });

  it("survives models without metadata or with broken files", () => {
    expect(metaFieldsOf(undefined)).toEqual([]);
    expect(metaFieldsOf({ "process_model.json": "{not json" })).toEqual([]);
    expect(
      metaFieldsOf({
        "process_model.json": JSON.stringify({
          metadata_extraction_paths: [{ key: "amount", path: "order.amount" }, { key: "amount" }, { path: "x" }, 3],
        }),
        "form-schema.json": JSON.stringify({
          properties: {
            order: { type: "object", properties: { amount: { type: ["integer", "null"], title: "金额" } } },
          },
        }),
      }),
    ).toEqual([{ key: "amount", path: "order.amount", numeric: true, title: "金额" }]);
  });
});

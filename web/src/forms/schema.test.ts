import { describe, expect, it } from "vitest";
import { pickLanguage, splitBilingual } from "../lib/bilingual";
import { collectFieldLabels, localizeSchema, prepareUiSchema, schemasFromFiles } from "./schema";

const schema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "计划员分诊",
  "x-title-en": "Master planner triage",
  type: "object",
  properties: {
    triage_decision: {
      type: "string",
      title: "分诊结论",
      "x-title-en": "Triage decision",
      oneOf: [
        { const: "accept", title: "接受，进入影响评估 / Accept" },
        { const: "reject", title: "拒绝 / Reject" },
      ],
    },
    material_from: { type: "string", title: "原物料 / 产品（置换前）", "x-title-en": "Material / product from" },
    title: { type: "string", title: "标题", default: "默认 / Default" },
    files: { type: "array", title: "附件", items: { type: "string", format: "attachment" } },
  },
};

describe("localizeSchema", () => {
  it("uses x-title-en in English and drops $schema", () => {
    const en = localizeSchema(schema, "en") as typeof schema;
    expect(en.title).toBe("Master planner triage");
    expect(en.properties.triage_decision.title).toBe("Triage decision");
    expect(en.properties.triage_decision.oneOf[0].title).toBe("Accept");
    expect(en.properties.material_from.title).toBe("Material / product from");
    expect("$schema" in en).toBe(false);
  });

  it("keeps Chinese titles in Chinese, with bilingual option titles halved", () => {
    const zh = localizeSchema(schema, "zh-CN") as typeof schema;
    expect(zh.title).toBe("计划员分诊");
    expect(zh.properties.triage_decision.oneOf[0].title).toBe("接受，进入影响评估");
    expect(zh.properties.material_from.title).toBe("原物料 / 产品（置换前）");
  });

  it("never touches data (const, default) nor a property that happens to be called title", () => {
    const en = localizeSchema(schema, "en") as typeof schema;
    expect(en.properties.title.default).toBe("默认 / Default");
    expect(en.properties.title.title).toBe("标题");
    expect(en.properties.triage_decision.oneOf[1].const).toBe("reject");
  });
});

describe("bilingual texts", () => {
  it("splits only real '中文 / English' pairs", () => {
    expect(splitBilingual("ETO 定制订单需求置换 / ETO change order")).toEqual([
      "ETO 定制订单需求置换",
      "ETO change order",
    ]);
    expect(splitBilingual("原物料 / 产品（置换前）")).toBeNull();
    expect(splitBilingual("A / B")).toBeNull();
    expect(splitBilingual("提报订单的物料 / 产品需求置换。File a material / product swap.")).toBeNull();
    expect(pickLanguage("客户变更时的物料 / 产品需求置换：提报。 / Material swap: request.", "en")).toBe(
      "Material swap: request.",
    );
    expect(pickLanguage("普通 / Normal", "zh-CN")).toBe("普通");
    // No space before the slash after Chinese punctuation, and slashes inside either half.
    expect(splitBilingual("建设补贴（按装机容量 元/kW）/ Construction subsidy (per kW)")).toEqual([
      "建设补贴（按装机容量 元/kW）",
      "Construction subsidy (per kW)",
    ]);
    expect(pickLanguage("无效（重复报告 / 误报）/ Invalid (duplicate, false alarm)", "zh-CN")).toBe(
      "无效（重复报告 / 误报）",
    );
    expect(splitBilingual("kW/ kWh")).toBeNull();
    expect(pickLanguage(null, "en")).toBe("");
  });
});

describe("prepareUiSchema", () => {
  it("routes attachment fields to our field and localizes help, placeholders and option names", () => {
    const ui = prepareUiSchema(
      schema,
      {
        urgency: { "ui:enumNames": ["普通 / Normal"], "ui:help": "客户要求的日期 / Date needed" },
        files: { "ui:help": "图纸 / Drawings" },
      },
      "en",
    );
    expect(ui.files).toEqual({ "ui:help": "Drawings", "ui:field": "attachments" });
    expect(ui.urgency).toEqual({ "ui:enumNames": ["Normal"], "ui:help": "Date needed" });
  });
});

describe("field labels for data and history", () => {
  it("collects titles and option titles from a model's files", () => {
    const labels = collectFieldLabels(
      schemasFromFiles({ "triage-schema.json": JSON.stringify(schema), "x.bpmn": "<xml/>", "broken.json": "{" }),
    );
    expect(labels.get("triage_decision")?.title).toBe("分诊结论");
    expect(labels.get("triage_decision")?.titleEn).toBe("Triage decision");
    expect(labels.get("triage_decision")?.options?.get('"accept"')).toBe("接受，进入影响评估 / Accept");
    expect(labels.has("nope")).toBe(false);
  });
});

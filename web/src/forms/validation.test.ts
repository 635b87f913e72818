import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RJSFSchema } from "@rjsf/utils";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../api/types";
import { localizeSchema } from "./schema";
import { dialectOf, isMultipleOf, makeTransformErrors, schemaAt, toDecimal, validatorFor } from "./validation";

// A trimmed copy of processes/eto/eto-change-order/eto-request-schema.json (plus an amount).
const ETO: JsonObject = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["order_no", "customer", "quantity"],
  properties: {
    order_no: {
      type: "string",
      title: "订单号",
      "x-title-en": "Order number",
      pattern: "^ETO-\\d{4}-\\d{4}$",
      maxLength: 13,
    },
    customer: { type: "string", title: "客户", "x-title-en": "Customer", minLength: 1 },
    quantity: { type: "integer", title: "数量", "x-title-en": "Quantity", minimum: 1 },
    cost_delta: { type: "number", title: "采购成本差额（元）", multipleOf: 0.01 },
    required_date: { type: "string", title: "需求日期", format: "date" },
    decision: {
      type: "string",
      title: "分诊结论",
      oneOf: [
        { const: "accept", title: "接受 / Accept" },
        { const: "reject", title: "拒绝 / Reject" },
      ],
    },
    comment: { type: "string", title: "分诊意见", minLength: 1 },
    attachments: { type: "array", title: "附件", items: { type: "string", format: "attachment" } },
  },
  if: { properties: { decision: { const: "reject" } }, required: ["decision"] },
  then: { required: ["comment"] },
};

function validate(data: JsonObject, lang = "zh-CN", raw: JsonObject = ETO) {
  const schema = localizeSchema(raw, lang);
  const v = validatorFor(dialectOf(raw));
  return v.validateFormData(data, schema as RJSFSchema, undefined, makeTransformErrors(schema, lang));
}

const messages = (data: JsonObject, lang = "zh-CN") =>
  Object.fromEntries(validate(data, lang).errors.map((e) => [e.property, e.message]));

describe("exact decimal multipleOf (like the server's Decimal)", () => {
  it("accepts amounts to the fen that floating point gets wrong", () => {
    expect(19.99 % 0.01).not.toBe(0); // why this exists
    for (const ok of [19.99, 0.07, -1234.56, 1e6, 0, 123456789.12, 0.3])
      expect(isMultipleOf(ok, 0.01), String(ok)).toBe(true);
    expect(isMultipleOf(0.3, 0.1)).toBe(true);
  });
  it("rejects what is not a multiple", () => {
    for (const bad of [19.995, 0.001, 1e-7, 5.5])
      expect(isMultipleOf(bad, bad === 5.5 ? 2 : 0.01), String(bad)).toBe(false);
    expect(isMultipleOf(1, 0)).toBe(false);
  });
  it("reads numbers as their exact decimal text", () => {
    expect(toDecimal(19.99)).toEqual({ digits: 1999n, exp: -2 });
    expect(toDecimal(1e-7)).toEqual({ digits: 1n, exp: -7 });
    expect(toDecimal(Number.NaN)).toBeNull();
  });
});

describe("client validation words errors like the server", () => {
  it("shows the server's Chinese messages on the right fields", () => {
    expect(messages({ order_no: "bad", quantity: 0 })).toEqual({
      ".order_no": "订单号格式不正确",
      customer: "客户为必填项",
      ".quantity": "数量不能小于1",
    });
  });

  it("uses English titles (x-title-en) and wording in English", () => {
    expect(messages({ order_no: "bad", customer: "", quantity: 1 }, "en")).toEqual({
      ".order_no": "Order number has an invalid format",
      ".customer": "Customer must not be empty",
    });
  });

  it("passes a valid submission, 19.99 included", () => {
    expect(
      validate({
        order_no: "ETO-2026-0042",
        customer: "宁德",
        quantity: 5,
        cost_delta: 19.99,
        required_date: "2026-12-30",
      }).errors,
    ).toEqual([]);
  });

  it("checks decimals, dates, titled options and attachments", () => {
    expect(
      messages({
        order_no: "ETO-2026-0042",
        customer: "c",
        quantity: 1,
        cost_delta: 1.234,
        required_date: "2026-13-45",
        decision: "maybe",
        attachments: ["x"],
      }),
    ).toEqual({
      ".cost_delta": "采购成本差额（元）最多保留2位小数",
      ".required_date": "需求日期不是有效的日期（YYYY-MM-DD）",
      ".decision": "分诊结论不是允许的选项（可选：accept、reject）",
      ".attachments.0": "附件第1项不是有效的附件引用（sha256:<64 位十六进制>）",
    });
    const sha = `sha256:${"a".repeat(64)}`;
    expect(validate({ order_no: "ETO-2026-0042", customer: "c", quantity: 1, attachments: [sha] }).errors).toEqual([]);
  });

  it("requires a comment only when rejecting (if/then), without the noisy 'if' error", () => {
    expect(messages({ order_no: "ETO-2026-0042", customer: "c", quantity: 1, decision: "reject" })).toEqual({
      comment: "分诊意见为必填项",
    });
    expect(validate({ order_no: "ETO-2026-0042", customer: "c", quantity: 1, decision: "accept" }).errors).toEqual([]);
  });

  it("picks the validator from $schema (2020-12 by default, draft-07 when declared)", () => {
    expect(dialectOf(ETO)).toBe("2020-12");
    expect(dialectOf({})).toBe("2020-12");
    expect(dialectOf({ $schema: "http://json-schema.org/draft-07/schema#" })).toBe("draft-07");
    const d7 = {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { n: { type: "number", title: "金额", multipleOf: 0.01 } },
    };
    expect(validate({ n: 19.99 }, "zh-CN", d7).errors).toEqual([]);
    expect(validate({ n: 19.991 }, "zh-CN", d7).errors.map((e) => e.message)).toEqual(["金额最多保留2位小数"]);
  });

  it("finds sub-schemas by property path", () => {
    expect(schemaAt(ETO, ["attachments", "0"])).toEqual({ type: "string", format: "attachment" });
    expect(schemaAt(ETO, ["nope"])).toBeUndefined();
  });
});

// Every form the product ships must compile with the browser's validator.
const PROCESSES = join(__dirname, "..", "..", "..", "processes");
function schemaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? schemaFiles(join(dir, e.name)) : e.name.endsWith("-schema.json") ? [join(dir, e.name)] : [],
  );
}

describe.skipIf(!existsSync(PROCESSES))("the shipped process models' forms", () => {
  it("all compile and accept an empty draft without throwing", () => {
    const files = schemaFiles(PROCESSES);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      // Jinja-templated schemas are filled with task data on the server before the browser
      // sees them (covered by the server's form tests); only plain ones can be compiled here.
      if (text.includes("{{")) continue;
      const raw = JSON.parse(text) as JsonObject;
      for (const lang of ["zh-CN", "en"]) {
        const result = validate({}, lang, raw);
        expect(Array.isArray(result.errors), file).toBe(true);
      }
    }
  });
});

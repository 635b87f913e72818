import { describe, expect, it } from "vitest";
import { getAtPointer, messageOf, parsePointer, rememberErrors, stillValid, toErrorSchema } from "./pointer";

describe("parsePointer", () => {
  it("splits and unescapes RFC 6901 pointers", () => {
    expect(parsePointer("")).toEqual([]);
    expect(parsePointer("/order_no")).toEqual(["order_no"]);
    expect(parsePointer("/items/0/amount")).toEqual(["items", "0", "amount"]);
    expect(parsePointer("/a~1b/c~0d")).toEqual(["a/b", "c~d"]);
  });
});

describe("toErrorSchema (422 paths -> rjsf extraErrors)", () => {
  const errors = [
    { path: "/order_no", message: "订单号 has an invalid format", message_zh: "订单号格式不正确", code: "pattern" },
    { path: "/customer", message: "客户 is required", message_zh: "客户为必填项", code: "required" },
    { path: "/lines/1/amount", message: "amount: at most 2 decimals", message_zh: "金额最多保留2位小数" },
    { path: "", message: "The form data must be a JSON object", message_zh: "表单数据必须是 JSON 对象" },
  ];

  it("puts each message on its field, in Chinese by default", () => {
    expect(toErrorSchema(errors, "zh-CN")).toEqual({
      order_no: { __errors: ["订单号格式不正确"] },
      customer: { __errors: ["客户为必填项"] },
      lines: { 1: { amount: { __errors: ["金额最多保留2位小数"] } } },
      __errors: ["表单数据必须是 JSON 对象"],
    });
  });

  it("uses the English message in English and when no Chinese one is given", () => {
    const schema = toErrorSchema(errors, "en") as Record<string, { __errors?: string[] }>;
    expect(schema.order_no.__errors).toEqual(["订单号 has an invalid format"]);
    expect(messageOf({ path: "/x", message: "only english" }, "zh-CN")).toBe("only english");
  });

  it("merges several messages on one field without duplicates", () => {
    const schema = toErrorSchema(
      [
        { path: "/a", message: "x", message_zh: "一" },
        { path: "/a", message: "y", message_zh: "二" },
        { path: "/a", message: "x", message_zh: "一" },
      ],
      "zh-CN",
    );
    expect(schema).toEqual({ a: { __errors: ["一", "二"] } });
  });

  it("unescapes keys containing / and ~", () => {
    expect(toErrorSchema([{ path: "/a~1b", message: "m" }], "en")).toEqual({ "a/b": { __errors: ["m"] } });
  });
});

describe("server errors follow the data", () => {
  it("reads values at pointers", () => {
    expect(getAtPointer({ a: [{ b: 3 }] }, "/a/0/b")).toBe(3);
    expect(getAtPointer({ a: 1 }, "/a/b")).toBeUndefined();
  });

  it("drops an error once its field changes, keeps the others", () => {
    const sent = { order_no: "bad", quantity: 0 };
    const remembered = rememberErrors(
      [
        { path: "/order_no", message: "format" },
        { path: "/quantity", message: "min" },
        { path: "/customer", message: "required" },
        { path: "", message: "form" },
      ],
      sent,
    );
    const kept = stillValid(remembered, { order_no: "ETO-2026-0042", quantity: 0 });
    expect(kept.map((e) => e.path)).toEqual(["/quantity", "/customer", ""]);
    expect(stillValid(kept, { order_no: "ETO-2026-0042", quantity: 0, customer: "宁德" }).map((e) => e.path)).toEqual([
      "/quantity",
      "",
    ]);
  });
});

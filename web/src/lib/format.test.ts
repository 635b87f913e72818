// Field names of request metadata in lists: every model's extraction keys read in the UI language.
import { createInstance } from "i18next";
import { describe, expect, it } from "vitest";
import { resources } from "../i18n";
import { fieldName } from "./format";

async function translator(lng: "zh-CN" | "en") {
  const i18n = createInstance();
  await i18n.init({ lng, resources, interpolation: { escapeValue: false } });
  return i18n.t;
}

describe("fieldName", () => {
  it("names every metadata key of the product's models, in Chinese and in English", async () => {
    const zh = await translator("zh-CN");
    const en = await translator("en");
    for (const key of ["claim_amount", "subsidy_type", "city", "settlement_no", "fault_type", "order_no"]) {
      expect(fieldName(key, zh, "zh-CN")).not.toBe(key);
      expect(fieldName(key, en, "en")).not.toBe(key);
    }
    expect(fieldName("claim_amount", zh, "zh-CN")).toBe("申报金额（元）");
    expect(fieldName("order_no", zh, "zh-CN")).toBe("订单号");
  });

  it("keeps an unknown key as it is, and prefers a form's own title", async () => {
    const zh = await translator("zh-CN");
    expect(fieldName("mystery_key", zh, "zh-CN")).toBe("mystery_key");
    expect(fieldName("city", zh, "en", { title: "城市", titleEn: "City (form)" })).toBe("City (form)");
  });
});

// Field messages worded like the server's (forms/messages.py), so a problem reads the same
// whether the browser or the server finds it: "订单号格式不正确" / "Order number has an invalid format".
import type { RJSFValidationError } from "@rjsf/utils";
import type { JsonObject } from "../api/types";

type Texts = [en: string, zh: string];

const TYPE_NAMES: Record<string, Texts> = {
  string: ["text", "文本"],
  number: ["a number", "数字"],
  integer: ["a whole number", "整数"],
  boolean: ["true or false", "是/否（布尔值）"],
  object: ["an object", "对象"],
  array: ["a list", "列表"],
  null: ["empty (null)", "空值"],
};

const FORMAT_NAMES: Record<string, Texts> = {
  date: ["date (YYYY-MM-DD)", "日期（YYYY-MM-DD）"],
  "date-time": ["date and time (e.g. 2026-01-31T09:30:00+08:00)", "日期时间（如 2026-01-31T09:30:00+08:00）"],
  time: ["time (HH:MM:SS)", "时间（HH:MM:SS）"],
  email: ["email address", "电子邮箱地址"],
  uri: ["URL", "网址（URL）"],
  uuid: ["UUID", "UUID"],
  attachment: ["attachment reference (sha256:<64 hex digits>)", "附件引用（sha256:<64 位十六进制>）"],
};

const fmtValue = (v: unknown): string => (v === null ? "null" : typeof v === "object" ? JSON.stringify(v) : String(v));

function options(values: unknown[]): Texts {
  if (!values.length || values.length > 10 || values.some((v) => typeof v === "object" && v !== null)) return ["", ""];
  const shown = values.map(fmtValue);
  return [` (allowed: ${shown.join(", ")})`, `（可选：${shown.join("、")}）`];
}

function multipleOf(label: string, step: number): Texts {
  if (step === 1) return [`${label} must be a whole number`, `${label}必须是整数`];
  const m = /^0\.(0*)1$/.exec(String(step));
  if (m) {
    const places = m[1].length + 1;
    return [
      `${label} can have at most ${places} decimal place${places > 1 ? "s" : ""}`,
      `${label}最多保留${places}位小数`,
    ];
  }
  return [`${label} must be a multiple of ${step}`, `${label}必须是${step}的整数倍`];
}

/** Both languages' text for one error, naming the field by `label`; null = not for people. */
export function describe(
  error: Pick<RJSFValidationError, "name" | "params">,
  label: string,
  fieldSchema?: JsonObject,
): Texts | null {
  const p = (error.params ?? {}) as Record<string, unknown>;
  const limit = p.limit as number;
  switch (error.name) {
    case "required":
      return [`${label} is required`, `${label}为必填项`];
    case "pattern": {
      const examples = fieldSchema?.examples;
      const ex = Array.isArray(examples) && typeof examples[0] === "string" ? examples[0] : null;
      return ex
        ? [`${label} has an invalid format (e.g. ${ex})`, `${label}格式不正确（示例：${ex}）`]
        : [`${label} has an invalid format`, `${label}格式不正确`];
    }
    case "format": {
      const fmt = String(p.format ?? "");
      const names = FORMAT_NAMES[fmt];
      return names
        ? [`${label} is not a valid ${names[0]}`, `${label}不是有效的${names[1]}`]
        : [`${label} is not a valid ${fmt}`, `${label}格式不正确（${fmt}）`];
    }
    case "minimum":
      return [`${label} must be at least ${limit}`, `${label}不能小于${limit}`];
    case "maximum":
      return [`${label} must be at most ${limit}`, `${label}不能大于${limit}`];
    case "exclusiveMinimum":
      return [`${label} must be greater than ${limit}`, `${label}必须大于${limit}`];
    case "exclusiveMaximum":
      return [`${label} must be less than ${limit}`, `${label}必须小于${limit}`];
    case "multipleOf":
      return multipleOf(label, Number(p.multipleOf));
    case "minLength":
      return limit === 1
        ? [`${label} must not be empty`, `${label}不能为空`]
        : [`${label} must be at least ${limit} characters long`, `${label}至少需要${limit}个字符`];
    case "maxLength":
      return [`${label} must be at most ${limit} characters long`, `${label}不能超过${limit}个字符`];
    case "minItems":
      return [`${label} needs at least ${limit} item${limit !== 1 ? "s" : ""}`, `${label}至少需要${limit}项`];
    case "maxItems":
      return [`${label} can have at most ${limit} item${limit !== 1 ? "s" : ""}`, `${label}最多${limit}项`];
    case "uniqueItems":
      return [`${label} must not contain duplicates`, `${label}不能包含重复项`];
    case "enum": {
      const [en, zh] = options((p.allowedValues as unknown[]) ?? []);
      return [`${label} is not one of the allowed options${en}`, `${label}不是允许的选项${zh}`];
    }
    case "oneOf":
    case "anyOf": {
      const branches = fieldSchema?.[error.name];
      if (
        Array.isArray(branches) &&
        branches.length &&
        branches.every((b) => typeof b === "object" && b && "const" in b)
      ) {
        const [en, zh] = options(branches.map((b) => (b as { const: unknown }).const));
        return [`${label} is not one of the allowed options${en}`, `${label}不是允许的选项${zh}`];
      }
      return [`${label} does not match any of the allowed forms`, `${label}不符合任何一种允许的格式`];
    }
    case "const":
      return [`${label} must be ${fmtValue(p.allowedValue)}`, `${label}必须为${fmtValue(p.allowedValue)}`];
    case "type": {
      const types = String(p.type ?? "").split(",");
      return [
        `${label} must be ${types.map((t) => TYPE_NAMES[t]?.[0] ?? t).join(" or ")}`,
        `${label}类型不正确，应为${types.map((t) => TYPE_NAMES[t]?.[1] ?? t).join("或")}`,
      ];
    }
    case "additionalProperties":
      return [`${p.additionalProperty} is not an allowed field`, `${p.additionalProperty}不是允许的字段`];
    case "if":
    case "then":
    case "else":
      return null; // the branch's own errors (e.g. a conditionally required field) say it better
    default:
      return null;
  }
}

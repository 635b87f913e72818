// Client-side validation that agrees with the server (forms/dialects.py):
// - the schema's own draft (2020-12 when `$schema` is absent, like the server);
// - format checks on, plus our "attachment" format (sha256:<64 hex>);
// - exact decimal multipleOf: 19.99 is a multiple of 0.01 (floating point says it is not).
import type { RJSFValidationError, ValidatorType } from "@rjsf/utils";
import { customizeValidator } from "@rjsf/validator-ajv8";
import Ajv from "ajv";
import Ajv2019 from "ajv/dist/2019";
import Ajv2020 from "ajv/dist/2020";
import type { JsonObject } from "../api/types";
import { describe } from "./messages";

export const ATTACHMENT_RE = /^sha256:[0-9a-f]{64}$/;

interface Decimal {
  digits: bigint;
  exp: number;
}

/** A JS number as an exact decimal of its shortest round-trip text (what JSON sends). */
export function toDecimal(n: number): Decimal | null {
  if (!Number.isFinite(n)) return null;
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(String(n));
  if (!m) return null;
  const frac = m[3] ?? "";
  const digits = BigInt(`${m[1]}${m[2]}${frac}`);
  return { digits, exp: Number(m[4] ?? 0) - frac.length };
}

/** Exact `value multipleOf step` for decimals, as the server checks it with Python's Decimal. */
export function isMultipleOf(value: number, step: number): boolean {
  const a = toDecimal(value);
  const b = toDecimal(step);
  if (!a || !b || b.digits === 0n) return false;
  if (a.digits === 0n) return true;
  const e = Math.min(a.exp, b.exp);
  // Scaling beyond IEEE range is pointless and slow; the server rejects such numbers anyway.
  if (a.exp - e > 400 || b.exp - e > 400) return false;
  const A = a.digits * 10n ** BigInt(a.exp - e);
  const B = b.digits * 10n ** BigInt(b.exp - e);
  return A % B === 0n;
}

type AjvInstance = InstanceType<typeof Ajv>;

interface KeywordValidate {
  (step: number, value: number): boolean;
  errors?: unknown[];
}

function exactMultipleOf(ajv: AjvInstance): AjvInstance {
  ajv.removeKeyword("multipleOf");
  const validate: KeywordValidate = (step, value) => {
    const ok = isMultipleOf(value, step);
    validate.errors = ok
      ? []
      : [{ keyword: "multipleOf", message: `must be multiple of ${step}`, params: { multipleOf: step } }];
    return ok;
  };
  ajv.addKeyword({ keyword: "multipleOf", type: "number", schemaType: "number", errors: true, validate } as never);
  return ajv;
}

export type Dialect = "2020-12" | "2019-09" | "draft-07";

export function dialectOf(schema: JsonObject | null | undefined): Dialect {
  const uri = typeof schema?.$schema === "string" ? schema.$schema : "";
  if (uri.includes("2019-09")) return "2019-09";
  if (/draft-0[4-7]/.test(uri)) return "draft-07";
  return "2020-12";
}

const CLASSES = { "2020-12": Ajv2020, "2019-09": Ajv2019, "draft-07": Ajv } as const;
const validators = new Map<Dialect, ValidatorType>();

export function validatorFor(dialect: Dialect): ValidatorType {
  let v = validators.get(dialect);
  if (!v) {
    v = customizeValidator({
      AjvClass: CLASSES[dialect] as unknown as typeof Ajv,
      customFormats: { attachment: ATTACHMENT_RE },
      extenderFn: exactMultipleOf as never,
    });
    validators.set(dialect, v);
  }
  return v;
}

/** rjsf's ".items.0.amount" / "customer" -> ["items", "0", "amount"]. */
export const propertyPath = (property: string | undefined): string[] => (property ?? "").split(".").filter(Boolean);

/** The sub-schema describing the field at `path` (properties / items), if any. */
export function schemaAt(schema: JsonObject, path: string[]): JsonObject | undefined {
  let cur: JsonObject | undefined = schema;
  for (const seg of path) {
    if (!cur) return undefined;
    const props = cur.properties as Record<string, JsonObject> | undefined;
    if (props && seg in props) cur = props[seg];
    else if (/^\d+$/.test(seg) && typeof cur.items === "object" && !Array.isArray(cur.items))
      cur = cur.items as JsonObject;
    else if (/^\d+$/.test(seg) && Array.isArray(cur.prefixItems)) cur = cur.prefixItems[Number(seg)] as JsonObject;
    else return undefined;
  }
  return cur;
}

function labelOf(schema: JsonObject, path: string[], zh: boolean): string {
  const title = schemaAt(schema, path)?.title;
  if (typeof title === "string" && title.trim()) return title.trim();
  if (!path.length) return zh ? "表单" : "The form";
  const last = path[path.length - 1];
  if (/^\d+$/.test(last)) {
    // "附件第1项": the list's title (the server names it by its key; a title reads better).
    const parentTitle = schemaAt(schema, path.slice(0, -1))?.title;
    const parent =
      typeof parentTitle === "string" && parentTitle.trim()
        ? parentTitle.trim()
        : ([...path.slice(0, -1)].reverse().find((s) => !/^\d+$/.test(s)) ?? "");
    return zh ? `${parent}第${Number(last) + 1}项` : `${parent} #${Number(last) + 1}`.trim();
  }
  return last;
}

/** An rjsf `transformErrors` that words errors like the server, in the UI's language. */
export function makeTransformErrors(schema: JsonObject, lang: string) {
  const zh = lang.startsWith("zh");
  return (errors: RJSFValidationError[]): RJSFValidationError[] => {
    const out: RJSFValidationError[] = [];
    for (const error of errors) {
      // Errors inside a oneOf/anyOf branch repeat what the oneOf error says.
      if (/\/(oneOf|anyOf)\/\d+\//.test(error.schemaPath ?? "")) continue;
      const path = propertyPath(error.property);
      const label = labelOf(schema, path, zh);
      const texts = describe(error, label, schemaAt(schema, path));
      if (texts === null && ["if", "then", "else"].includes(error.name ?? "")) continue;
      const message = texts
        ? texts[zh ? 1 : 0]
        : zh
          ? `${label}的值无效`
          : `${label} is invalid: ${error.message ?? ""}`;
      out.push({ ...error, message, stack: message });
    }
    return out;
  };
}

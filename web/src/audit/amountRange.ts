// An amount range on one numeric metadata key of a process (capex, claim_amount...): the audit
// search and the inbox filter both offer it, with the same URL form (amount=<key>&min=&max=) and
// the same API form (metadata_min=<key>:<number>, metadata_max=<key>:<number>, bounds inclusive).
// Pure functions, shared by both pages.

export interface AmountRange {
  /** The numeric metadata key the bounds apply to; "" = no range. */
  key: string;
  /** Normalized numbers ("1000000", "1000.50") or "". */
  min: string;
  max: string;
}

export const NO_AMOUNT: AmountRange = { key: "", min: "", max: "" };

const NUMBER = /^-?\d+(\.\d+)?$/;
/** Metadata keys are identifiers in process_model.json (station_name, order_no). */
const KEY = /^[A-Za-z_][\w.-]{0,63}$/;

export const isMetaKey = (key: string): boolean => KEY.test(key);

/** "1,000,000" or " 1 000.50 " as typed -> "1000000" / "1000.50"; anything else -> "". */
export function normalizeNumber(value: string): string {
  const v = value.replace(/[,，\s]/g, "");
  return NUMBER.test(v) ? v : "";
}

/** The range a URL carries; a malformed key or bound is left out, and bounds need their key. */
export function readAmountRange(search: URLSearchParams): AmountRange {
  const get = (k: string) => (search.get(k) ?? "").trim();
  const key = isMetaKey(get("amount")) ? get("amount") : "";
  if (!key) return NO_AMOUNT;
  return { key, min: normalizeNumber(get("min")), max: normalizeNumber(get("max")) };
}

/** Adds the range to a URL's parameters: only with a key and at least one bound. */
export function writeAmountRange(out: URLSearchParams, r: AmountRange): void {
  if (!r.key || !(r.min || r.max)) return;
  out.set("amount", r.key);
  if (r.min) out.set("min", r.min);
  if (r.max) out.set("max", r.max);
}

/** The range as the API's search parameters (GET /tasks, GET /process-instances, exports). */
export function amountBounds(r: AmountRange): { metadata_min?: string; metadata_max?: string } {
  const out: { metadata_min?: string; metadata_max?: string } = {};
  if (r.key && r.min) out.metadata_min = `${r.key}:${r.min}`;
  if (r.key && r.max) out.metadata_max = `${r.key}:${r.max}`;
  return out;
}

/** Whether the range narrows anything. */
export const hasAmountRange = (r: AmountRange): boolean => Boolean(r.key && (r.min || r.max));

export type AmountProblem = "number" | "range";

/** What is wrong with bounds as typed, before asking the API: not numbers, or min above max. */
export function amountProblem(rawMin: string, rawMax: string): AmountProblem | null {
  const min = normalizeNumber(rawMin);
  const max = normalizeNumber(rawMax);
  if ((rawMin.trim() && !min) || (rawMax.trim() && !max)) return "number";
  if (min && max && Number(min) > Number(max)) return "range";
  return null;
}

/** Typed bounds on a key -> the range to apply, or what is wrong with them. */
export function typedAmountRange(
  key: string,
  rawMin: string,
  rawMax: string,
): { range: AmountRange; problem: null } | { range: null; problem: AmountProblem } {
  const problem = amountProblem(rawMin, rawMax);
  if (problem) return { range: null, problem };
  const min = normalizeNumber(rawMin);
  const max = normalizeNumber(rawMax);
  return { range: key && (min || max) ? { key, min, max } : NO_AMOUNT, problem: null };
}

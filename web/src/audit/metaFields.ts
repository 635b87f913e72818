// The metadata a process extracts (process_model.json `metadata_extraction_paths`) is what its
// requests can be searched by. GET /process-models/<id> returns the model's files; this reads the
// keys from them, tells which are amounts (numbers) and names them as its forms do.

import { choiceTitles } from "../forms/schema";

export interface MetaField {
  key: string;
  /** Where in the request data it comes from (dotted path). */
  path: string;
  /** A number (an amount, a capacity, a count): offered for the min/max range. */
  numeric: boolean;
  /** Form title, when a form of the model defines the field. */
  title?: string;
  titleEn?: string;
  /** Groups that may see it (restricted_fields); absent = everyone who may read the request. */
  restrictedTo?: string[];
  /** Titles of the form's choices by JSON value (e.g. "construction" -> 建设补贴 / Construction). */
  options?: Map<string, string>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Names that are amounts or quantities when no form says (computed values such as claim_amount). */
const NUMERIC_NAME = /(amount|capex|opex|cost|price|fee|total|sum|_kw|kwh|capacity|count|qty|quantity|irr|npv)/i;

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface PropInfo {
  numeric: boolean;
  title?: string;
  titleEn?: string;
  options?: Map<string, string>;
}

/** Every property of every JSON schema among the files, first definition wins. */
function schemaProps(files: Record<string, string>): Map<string, PropInfo> {
  const props = new Map<string, PropInfo>();
  const walk = (schema: unknown, depth: number) => {
    if (!isObject(schema) || depth > 8) return;
    const properties = schema.properties;
    if (isObject(properties)) {
      for (const [name, def] of Object.entries(properties)) {
        if (!isObject(def)) continue;
        const type = def.type;
        const types = Array.isArray(type) ? type : [type];
        if (!props.has(name)) {
          props.set(name, {
            numeric: types.includes("number") || types.includes("integer"),
            title: typeof def.title === "string" ? def.title : undefined,
            titleEn: typeof def["x-title-en"] === "string" ? (def["x-title-en"] as string) : undefined,
            options: choiceTitles(def),
          });
        }
        walk(def, depth + 1);
      }
    }
    for (const key of ["items", "then", "else"]) walk(schema[key], depth + 1);
    for (const key of ["allOf", "anyOf", "oneOf"]) {
      const list = schema[key];
      if (Array.isArray(list)) list.forEach((s) => walk(s, depth + 1));
    }
    for (const key of ["definitions", "$defs"]) {
      const defs = schema[key];
      if (isObject(defs)) Object.values(defs).forEach((s) => walk(s, depth + 1));
    }
  };
  for (const [name, text] of Object.entries(files)) {
    if (!name.endsWith(".json") || name === "process_model.json" || /ui-?schema/i.test(name)) continue;
    walk(parseJson(text), 0);
  }
  return props;
}

/** The searchable metadata of a model, from its files. */
export function metaFieldsOf(files: Record<string, string> | null | undefined): MetaField[] {
  const model = parseJson(files?.["process_model.json"]);
  if (!isObject(model)) return [];
  const paths = Array.isArray(model.metadata_extraction_paths) ? model.metadata_extraction_paths : [];
  const restricted = isObject(model.restricted_fields) ? model.restricted_fields : {};
  const props = schemaProps(files ?? {});
  const out: MetaField[] = [];
  for (const entry of paths) {
    if (!isObject(entry) || typeof entry.key !== "string" || !entry.key) continue;
    if (out.some((f) => f.key === entry.key)) continue;
    const path = typeof entry.path === "string" ? entry.path : entry.key;
    const leaf = path.split(/[./]/).pop() || entry.key;
    const info = props.get(leaf) ?? props.get(entry.key);
    const groups = restricted[entry.key] ?? restricted[leaf];
    out.push({
      key: entry.key,
      path,
      numeric: info ? info.numeric : NUMERIC_NAME.test(entry.key),
      ...(info?.title ? { title: info.title } : {}),
      ...(info?.titleEn ? { titleEn: info.titleEn } : {}),
      ...(info?.options ? { options: info.options } : {}),
      ...(Array.isArray(groups) ? { restrictedTo: groups.filter((g): g is string => typeof g === "string") } : {}),
    });
  }
  return out;
}

/** Admins and auditors read everything (the server's hidden_fields); others filter only on what
 * they may see: filtering on a hidden field is a 400, since the answer would reveal it. */
export function visibleFields(fields: MetaField[], groups: string[]): MetaField[] {
  if (groups.includes("admin") || groups.includes("auditor")) return fields;
  return fields.filter((f) => !f.restrictedTo || f.restrictedTo.some((g) => groups.includes(g)));
}

/** The first amount field (the range's default key when a process is chosen). */
export function defaultAmountKey(fields: MetaField[]): string {
  const amounts = fields.filter((f) => f.numeric);
  return (amounts.find((f) => /amount|capex|cost/i.test(f.key)) ?? amounts[0])?.key ?? "";
}

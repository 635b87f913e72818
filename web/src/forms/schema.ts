// Small, pure transforms of a task's JSON Schema / UI schema before rjsf renders them.
import type { UiSchema } from "@rjsf/utils";
import type { JsonObject } from "../api/types";
import { pickLanguage } from "../lib/bilingual";

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The schema in the UI's language: in English every `title` with an `x-title-en` sibling is
 * replaced by it (the models keep Chinese titles and add `x-title-en`); "中文 / English" titles and
 * descriptions keep the half in the UI's language. `$schema` is dropped:
 * the validator is chosen from it beforehand (see validation.ts).
 */
export function localizeSchema(schema: JsonObject, lang: string): JsonObject {
  const english = !lang.startsWith("zh");
  const DATA_KEYS = ["const", "default", "enum", "examples"];
  // `byName`: the node maps names to schemas (properties, $defs...), it is not a schema itself.
  const walk = (node: unknown, byName = false): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n));
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (byName) out[key] = walk(value);
      // `const`, `default`, `enum` and `examples` are data, not schema: copy them untouched.
      else if (DATA_KEYS.includes(key)) out[key] = value;
      else
        out[key] = walk(
          value,
          ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"].includes(key),
        );
    }
    if (!byName) {
      if (english && typeof node["x-title-en"] === "string" && node["x-title-en"].trim())
        out.title = node["x-title-en"];
      else if (typeof out.title === "string") out.title = pickLanguage(out.title, lang);
      if (typeof out.description === "string") out.description = pickLanguage(out.description, lang);
    }
    return out;
  };
  const out = walk(schema) as JsonObject;
  delete out.$schema;
  return out;
}

const isAttachment = (s: unknown): boolean =>
  isObject(s) &&
  ((s.type === "string" && s.format === "attachment") ||
    (s.type === "array" && isObject(s.items) && s.items.format === "attachment"));

const UI_TEXTS = ["ui:help", "ui:placeholder", "ui:title", "ui:description"];

/** "中文 / English" help, placeholders and option names in the UI's language. */
export function localizeUiSchema(uiSchema: JsonObject, lang: string): JsonObject {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (UI_TEXTS.includes(key) && typeof value === "string") out[key] = pickLanguage(value, lang);
      else if (key === "ui:enumNames" && Array.isArray(value))
        out[key] = value.map((v) => (typeof v === "string" ? pickLanguage(v, lang) : v));
      else out[key] = walk(value);
    }
    return out;
  };
  return walk(uiSchema) as JsonObject;
}

/** UI schema for rjsf: localized texts; attachment fields get our attachments field (uploads). */
export function prepareUiSchema(schema: JsonObject, uiSchema: JsonObject | null | undefined, lang = "zh-CN"): UiSchema {
  const ui: JsonObject = localizeUiSchema(uiSchema ?? {}, lang);
  const props = isObject(schema.properties) ? schema.properties : {};
  for (const [name, prop] of Object.entries(props)) {
    if (!isAttachment(prop)) continue;
    ui[name] = { ...(isObject(ui[name]) ? ui[name] : {}), "ui:field": "attachments" };
  }
  return ui as UiSchema;
}

export interface FieldLabel {
  title: string;
  titleEn?: string;
  /** Titles of oneOf/anyOf `const` options, by JSON value (e.g. accept -> "接受 / Accept"). */
  options?: Map<string, string>;
}

/** Titles of a property's oneOf/anyOf `const` choices, by JSON value (accept -> "接受 / Accept"). */
export function choiceTitles(prop: JsonObject): Map<string, string> | undefined {
  const branches = Array.isArray(prop.oneOf) ? prop.oneOf : Array.isArray(prop.anyOf) ? prop.anyOf : [];
  const options = new Map<string, string>();
  for (const b of branches) {
    if (isObject(b) && "const" in b && typeof b.title === "string") options.set(JSON.stringify(b.const), b.title);
  }
  return options.size ? options : undefined;
}

/** Field titles of every schema given (e.g. all forms of a model), first definition wins. */
export function collectFieldLabels(schemas: JsonObject[]): Map<string, FieldLabel> {
  const labels = new Map<string, FieldLabel>();
  for (const schema of schemas) {
    const props = isObject(schema.properties) ? schema.properties : {};
    for (const [key, prop] of Object.entries(props)) {
      if (!isObject(prop) || labels.has(key) || typeof prop.title !== "string") continue;
      const label: FieldLabel = { title: prop.title };
      if (typeof prop["x-title-en"] === "string") label.titleEn = prop["x-title-en"];
      const options = choiceTitles(prop);
      if (options) label.options = options;
      labels.set(key, label);
    }
  }
  return labels;
}

/** JSON schemas among a model's files (name ends in .json and looks like an object schema). */
export function schemasFromFiles(files: Record<string, string>): JsonObject[] {
  const out: JsonObject[] = [];
  for (const [name, text] of Object.entries(files)) {
    if (!name.endsWith(".json")) continue;
    try {
      const parsed: unknown = JSON.parse(text);
      if (isObject(parsed) && isObject(parsed.properties)) out.push(parsed);
    } catch {
      // not JSON: not a form
    }
  }
  return out;
}

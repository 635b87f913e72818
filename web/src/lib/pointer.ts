// JSON Pointers (RFC 6901) from the server's 422 answers, turned into rjsf's ErrorSchema so
// each message shows on its own field.
import type { ErrorSchema } from "@rjsf/utils";
import type { FieldError } from "../api/types";

/** "/items/0/a~1b" -> ["items", "0", "a/b"]; "" -> []. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "" || pointer === "/") return [];
  const raw = pointer.startsWith("/") ? pointer.slice(1) : pointer;
  return raw.split("/").map((seg) => seg.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The value at a pointer, or undefined. */
export function getAtPointer(data: unknown, pointer: string): unknown {
  let cur: unknown = data;
  for (const seg of parsePointer(pointer)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

export type Lang = "zh-CN" | "en";

/** The message a person reads: Chinese when the UI is Chinese and the server sent one. */
export function messageOf(error: FieldError, lang: string): string {
  return lang.startsWith("zh") && error.message_zh ? error.message_zh : error.message;
}

/** Field errors -> ErrorSchema ({order_no: {__errors: [...]}}); "" goes to the form itself. */
export function toErrorSchema(errors: FieldError[], lang: string): ErrorSchema {
  const root: Record<string, unknown> = {};
  for (const error of errors) {
    let node = root;
    for (const seg of parsePointer(error.path)) {
      if (seg === "__errors") break; // never let data keys collide with rjsf's own key
      const next = node[seg];
      if (typeof next !== "object" || next === null) node[seg] = {};
      node = node[seg] as Record<string, unknown>;
    }
    const list = (node.__errors as string[] | undefined) ?? [];
    const text = messageOf(error, lang);
    if (!list.includes(text)) list.push(text);
    node.__errors = list;
  }
  return root as ErrorSchema;
}

/** A server error remembered with the value it judged, so it can disappear once edited. */
export interface ServerFieldError extends FieldError {
  judged: string;
}

const snapshot = (value: unknown): string => JSON.stringify(value ?? null);

export function rememberErrors(errors: FieldError[], data: unknown): ServerFieldError[] {
  return errors.map((e) => ({ ...e, judged: snapshot(getAtPointer(data, e.path)) }));
}

/** Keeps only the server errors whose field still holds the value the server rejected. */
export function stillValid(errors: ServerFieldError[], data: unknown): ServerFieldError[] {
  return errors.filter((e) => e.path === "" || snapshot(getAtPointer(data, e.path)) === e.judged);
}

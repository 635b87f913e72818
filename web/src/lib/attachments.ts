// Attachments are content-addressed: a form or a comment holds `sha256:<hex>` references to
// files uploaded with POST /attachments. The checks here mirror the server's (size, type) so a
// phone on a slow network is told before the upload, not after; the server still decides.
import { api, type AttachmentMeta } from "../api";

/** The server's upload limit (ATTACHMENT_MAX_BYTES, 413 beyond it). */
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;

/** The kinds the server accepts by default (api/config.py ATTACHMENT_TYPES, engine/attachments/sniff.py):
 * the file name's extension and the browser's declared type must agree with the content, else 415. */
export const ATTACHMENT_KINDS: Record<string, { extensions: string[]; types: string[] }> = {
  pdf: { extensions: [".pdf"], types: ["application/pdf", "application/x-pdf"] },
  png: { extensions: [".png"], types: ["image/png"] },
  jpeg: { extensions: [".jpg", ".jpeg", ".jpe", ".jfif"], types: ["image/jpeg", "image/pjpeg", "image/jpg"] },
  webp: { extensions: [".webp"], types: ["image/webp"] },
  xlsx: {
    extensions: [".xlsx"],
    types: ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"],
  },
  docx: {
    extensions: [".docx"],
    types: ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"],
  },
  xls: { extensions: [".xls"], types: ["application/vnd.ms-excel", "application/msexcel", "application/x-msexcel"] },
  zip: {
    extensions: [".zip"],
    types: ["application/zip", "application/x-zip-compressed", "application/x-zip", "multipart/x-zip"],
  },
  csv: {
    extensions: [".csv"],
    types: [
      "text/csv",
      "text/plain",
      "application/csv",
      "text/comma-separated-values",
      "text/x-csv",
      "application/vnd.ms-excel",
    ],
  },
  txt: { extensions: [".txt"], types: ["text/plain"] },
};

export const ALLOWED_EXTENSIONS = Object.values(ATTACHMENT_KINDS).flatMap((k) => k.extensions);
export const ALLOWED_TYPES = [...new Set(Object.values(ATTACHMENT_KINDS).flatMap((k) => k.types))];
/** What browsers send when they do not know (the server then goes by the content). */
const GENERIC_TYPES = ["", "application/octet-stream", "binary/octet-stream", "application/unknown"];

/** The `accept` attribute of the file input: the phone's picker offers only these. */
export const ACCEPT = [...ALLOWED_EXTENSIONS, ...ALLOWED_TYPES.filter((t) => t !== "application/zip")].join(",");

export const REF_PATTERN = /^sha256:[0-9a-f]{64}$/;

export type PrecheckProblem =
  { code: "empty" } | { code: "too_large"; size: number; max: number } | { code: "type"; name: string };

const extensionOf = (name: string): string => {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "";
};

/** Why a file would be refused, or null when it may be uploaded: the checks the server makes
 * before looking at the bytes (size; an extension it accepts; a declared type that fits it). */
export function precheckFile(
  file: { name: string; size: number; type?: string },
  max: number = MAX_ATTACHMENT_BYTES,
): PrecheckProblem | null {
  if (file.size === 0) return { code: "empty" };
  if (file.size > max) return { code: "too_large", size: file.size, max };
  const ext = extensionOf(file.name);
  const type = (file.type ?? "").split(";")[0].trim().toLowerCase();
  const generic = GENERIC_TYPES.includes(type);
  if (ext) {
    const kinds = Object.values(ATTACHMENT_KINDS).filter((k) => k.extensions.includes(ext));
    if (!kinds.length) return { code: "type", name: file.name };
    // Text is told apart by content: a .csv may come as text/plain and the other way round.
    const textual = ext === ".csv" || ext === ".txt";
    if (!generic && !kinds.some((k) => k.types.includes(type)) && !(textual && type.startsWith("text/")))
      return { code: "type", name: file.name };
  } else if (!generic && !ALLOWED_TYPES.includes(type)) {
    return { code: "type", name: file.name };
  }
  return null;
}

/** "2.4 MB", "512 KB", "900 B" (binary units, like the server's limit). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  const mb = n / (1024 * 1024);
  return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}

/** "sha256:3a7bd3e2…f0c1": enough to tell files apart and compare with a printed record. */
export function shortRef(ref: string): string {
  const hex = ref.startsWith("sha256:") ? ref.slice(7) : ref;
  if (hex.length <= 14) return `sha256:${hex}`;
  return `sha256:${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

/** The refs in a field's value: one string, an array of them, or nothing. */
export function refsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((x): x is string => typeof x === "string" && x !== "");
  return typeof value === "string" && value ? [value] : [];
}

/** The field's value after adding refs: an array keeps every distinct ref; a single one is replaced. */
export function addRefs(value: unknown, refs: string[], multiple: boolean): string | string[] | undefined {
  if (!multiple) return refs.length ? refs[refs.length - 1] : (refsOf(value)[0] ?? undefined);
  const out = refsOf(value);
  for (const r of refs) if (!out.includes(r)) out.push(r);
  return out;
}

/** The field's value without `ref` (an emptied single field becomes undefined: "no file"). */
export function removeRef(value: unknown, ref: string, multiple: boolean): string | string[] | undefined {
  const left = refsOf(value).filter((r) => r !== ref);
  return multiple ? left : left[0];
}

// One meta request per file per page load, shared by every place that shows it.
const metaCache = new Map<string, Promise<AttachmentMeta | null>>();
// The answers already in: a link shows the file's name at once instead of its hash first.
const metaKnown = new Map<string, AttachmentMeta>();

export function loadAttachmentMeta(ref: string): Promise<AttachmentMeta | null> {
  let hit = metaCache.get(ref);
  if (!hit) {
    hit = api.attachmentMeta(ref).then(
      (meta) => {
        metaKnown.set(ref, meta);
        return meta;
      },
      () => {
        metaCache.delete(ref); // try again next time (offline, not yet linked...)
        return null;
      },
    );
    metaCache.set(ref, hit);
  }
  return hit;
}

/** The file's meta when it is already known (uploaded or loaded on this page), else undefined. */
export function knownAttachmentMeta(ref: string): AttachmentMeta | undefined {
  return metaKnown.get(ref);
}

/** What an upload answered is already known: no need to ask for it. */
export function rememberAttachmentMeta(ref: string, meta: AttachmentMeta): void {
  metaKnown.set(ref, meta);
  metaCache.set(ref, Promise.resolve(meta));
}

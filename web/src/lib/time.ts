// Times come from the API in UTC; people read them in China time whatever their device says.
export const TIME_ZONE = "Asia/Shanghai";

function parse(iso: string | Date): Date | null {
  const d = iso instanceof Date ? iso : new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function parts(d: Date): Record<string, string> {
  const fmt = new Intl.DateTimeFormat("en-GB", {
    timeZone: TIME_ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  return Object.fromEntries(fmt.formatToParts(d).map((p) => [p.type, p.value]));
}

/** "2026-11-22 06:18" in Asia/Shanghai (the same in both languages: unambiguous, sortable). */
export function formatDateTime(iso: string | Date | null | undefined, withSeconds = false): string {
  if (!iso) return "";
  const d = parse(iso);
  if (!d) return String(iso);
  const p = parts(d);
  const time = withSeconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  return `${p.year}-${p.month}-${p.day} ${time}`;
}

/** "2026-11-22" in Asia/Shanghai. */
export function formatDate(iso: string | Date | null | undefined): string {
  if (!iso) return "";
  const d = parse(iso);
  if (!d) return String(iso);
  const p = parts(d);
  return `${p.year}-${p.month}-${p.day}`;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** "3 小时前" / "3 hours ago" / "2 天后"; under a minute: "刚刚" / "just now". */
export function formatRelative(iso: string | Date | null | undefined, lang: string, now: Date = new Date()): string {
  if (!iso) return "";
  const d = parse(iso);
  if (!d) return String(iso);
  const seconds = Math.round((d.getTime() - now.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  if (abs < 60) return lang.startsWith("zh") ? "刚刚" : "just now";
  for (const [unit, size] of UNITS) {
    if (abs >= size) return rtf.format(Math.trunc(seconds / size), unit);
  }
  return rtf.format(Math.trunc(seconds / 60), "minute");
}

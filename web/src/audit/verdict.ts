// The verdict of POST /records/verify as a checklist an inspector can follow (pure: tested).
import type { SignatureCheck, Verdict } from "../api/audit";
import { formatDateTime } from "../lib/time";

export type CheckState = "pass" | "fail" | "info";

export interface VerdictCheck {
  key: "intact" | "valid" | "trusted" | "timestamp" | "lta" | "chain" | "current";
  state: CheckState;
  /** Interpolation values for the wording (times, levels). */
  values?: Record<string, string>;
}

export const truthy = (v: unknown) => v === true || v === "true";

/** The verdict as a checklist (pure, so the wording rules are testable). */
export function verdictChecks(v: Verdict): VerdictCheck[] {
  const sigs = v.signatures ?? [];
  const has = sigs.length > 0;
  const all = (pick: (s: SignatureCheck) => boolean) => has && sigs.every(pick);
  const stamps = sigs.map((s) => s.timestamp).filter((x): x is NonNullable<typeof x> => x != null);
  const stampOk = has && stamps.length === sigs.length && stamps.every((s) => s.intact && s.valid && s.trusted);
  const stampTime = stamps[0]?.time ? formatDateTime(stamps[0].time, true) : "";
  const out: VerdictCheck[] = [
    { key: "intact", state: all((s) => s.intact) ? "pass" : "fail" },
    { key: "valid", state: all((s) => s.valid) ? "pass" : "fail" },
    { key: "trusted", state: all((s) => s.trusted) ? "pass" : "fail" },
    { key: "timestamp", state: stampOk ? "pass" : "fail", values: { time: stampTime } },
    { key: "lta", state: v.level === "B-LTA" ? "pass" : "fail", values: { level: v.level ?? "—" } },
  ];
  const audit = v.audit ?? { checked: false };
  if (!audit.checked) out.push({ key: "chain", state: "fail" });
  else {
    out.push({ key: "chain", state: audit.matches && audit.chain_intact !== false ? "pass" : "fail" });
    if (audit.matches) out.push({ key: "current", state: audit.current ? "pass" : "info" });
  }
  return out;
}

/** The wording key of a check in its state (audit.verify.checks.<key>.<pass|fail|info|unchecked>). */
export function checkWording(c: VerdictCheck, v: Verdict): string {
  if (c.key === "chain" && !v.audit?.checked) return "audit.verify.checks.chain.unchecked";
  return `audit.verify.checks.${c.key}.${c.state}`;
}

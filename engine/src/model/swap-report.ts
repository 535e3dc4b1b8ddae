import { performance } from "node:perf_hooks";
import type { ErrorInfo } from "../errors/modhost-error.js";

/** One declaration that a new version added, removed or changed, by path (e.g. `on.hit`). */
export interface SwapChange {
  readonly kind: "added" | "removed" | "modified";
  readonly path: string;
}

/** Time spent in each phase of a swap, in ms. */
export interface SwapPhases {
  readonly compile?: number;
  readonly typecheck?: number;
  readonly analyze?: number;
  readonly stage?: number;
  readonly commit?: number;
}

/** What every swap report has, whatever happened. */
interface SwapReportCommon {
  readonly mod: string;
  /** The version that was live before. */
  readonly from: string;
  /**
   * The version the operation went to: live after a swap, rollback or noop (equal to `from` when
   * nothing changed); for a refusal (`ok: false`), the version that was attempted and refused
   * (`from` stays live), or `from` itself when no version could be read (e.g. mod.json broken).
   */
  readonly to: string;
  /** How long this mod's events were held, in ms. */
  readonly pauseMs: number;
  readonly totalMs: number;
  readonly phases: SwapPhases;
  readonly changes: readonly SwapChange[];
}

/** A swap (or first load) or a no-op that went through: no error. */
export interface SwapApplied extends SwapReportCommon {
  readonly ok: true;
  readonly kind: "swap" | "noop";
  readonly error?: undefined;
}

/** A rollback that went through; `error`, on an automatic one (probation), says what made it roll back. */
export interface SwapRolledBack extends SwapReportCommon {
  readonly ok: true;
  readonly kind: "rollback";
  readonly error?: ErrorInfo;
}

/** A reload, rollback or approval that was refused (or held for approval: E_APPROVAL_REQUIRED); the live version stays. */
export interface SwapRefused extends SwapReportCommon {
  readonly ok: false;
  readonly kind: "rejected";
  readonly error: ErrorInfo;
}

/**
 * What a reload, rollback or approval did, or why it refused. Narrows on `ok`: `ok: false` always
 * has its `error`; `ok: true` has none, except the reason of an automatic rollback.
 */
export type SwapReport = SwapApplied | SwapRolledBack | SwapRefused;

/** What a report says, with its times still raw: `buildReport` rounds them and derives totalMs. */
export type ReportFields = {
  readonly mod: string;
  readonly from: string;
  readonly to: string;
  /** performance.now() when the operation began. */
  readonly startedAt: number;
  readonly pauseMs?: number;
  readonly phases?: SwapPhases;
  readonly changes?: readonly SwapChange[];
} & ({ readonly ok: true; readonly kind: "swap" | "noop" | "rollback"; readonly error?: ErrorInfo } | { readonly ok: false; readonly kind: "rejected"; readonly error: ErrorInfo });

/** The one place a SwapReport is put together: times rounded, totalMs measured now. */
export function buildReport(fields: ReportFields): SwapReport {
  const head = { mod: fields.mod };
  const rest = {
    from: fields.from,
    to: fields.to,
    pauseMs: round(fields.pauseMs ?? 0),
    totalMs: round(performance.now() - fields.startedAt),
    phases: roundPhases(fields.phases ?? {}),
    changes: fields.changes ?? [],
  };
  if (!fields.ok) return { ok: false, ...head, kind: "rejected", ...rest, error: fields.error };
  if (fields.kind === "rollback") return { ok: true, ...head, kind: "rollback", ...rest, ...(fields.error !== undefined ? { error: fields.error } : {}) };
  // Only a rollback's reason rides on a report that went through.
  return { ok: true, ...head, kind: fields.kind, ...rest };
}

/** Milliseconds rounded to the microsecond, as reports show them. */
export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Every phase's time rounded as by `round`. */
export function roundPhases(phases: SwapPhases): SwapPhases {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(phases)) if (value !== undefined) out[key] = round(value);
  return out as SwapPhases;
}

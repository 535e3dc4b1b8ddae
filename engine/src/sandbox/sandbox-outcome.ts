import type { ErrorCode } from "../errors/error-codes.js";
import type { StopReason } from "../model/wire.js";

/**
 * Why a request did not run to its end inside the sandbox, beyond a failure of the mod's own
 * code: it ran past its time or memory limit, its isolate was gone, the sandbox process died with
 * it running ("crashed", it is the culprit) or died while it waited ("lost").
 */
export type SandboxStop = StopReason;

/** A failure as data, the same on both sides of the process boundary. */
export interface SandboxFailure {
  readonly code: ErrorCode;
  readonly message: string;
  /** The isolate's stack, when the mod's code threw. */
  readonly stack?: string;
}

/**
 * The outcome of one request at the sandbox boundary (isolate runtime, instance registry, the
 * sandbox process protocol, both backends): its value, a failure inside the mod, or a stop. A
 * stop carries a failure when there is more to say than its kind (a start that timed out says
 * which step did).
 */
export type SandboxOutcome<T> =
  | { readonly kind: "ok"; readonly value: T }
  | { readonly kind: "failed"; readonly error: SandboxFailure }
  | { readonly kind: SandboxStop; readonly error?: SandboxFailure };

/** Any outcome but "ok". */
export type SandboxNotOk = Exclude<SandboxOutcome<never>, { kind: "ok" }>;

/** The value as an "ok" outcome. */
export function ok<T>(value: T): SandboxOutcome<T> {
  return { kind: "ok", value };
}

/** A failure inside the mod as an outcome. */
export function failed(code: ErrorCode, message: string, stack?: string): SandboxNotOk {
  return { kind: "failed", error: { code, message, ...(stack !== undefined ? { stack } : {}) } };
}

/** The failure an outcome that is not "ok" reports, with `code` standing in for a bare stop. */
export function failureOf(outcome: SandboxNotOk, code: ErrorCode): SandboxFailure {
  if (outcome.error !== undefined) return outcome.error;
  switch (outcome.kind) {
    case "timeout":
      return { code: code === "E_MIGRATION_FAILED" ? code : "E_TIMEOUT", message: "ran past the time limit" };
    case "memory":
      return { code: code === "E_MIGRATION_FAILED" ? code : "E_MEMORY_LIMIT", message: "ran past the memory limit" };
    case "crashed":
    case "lost":
      return { code: "E_SANDBOX_CRASHED", message: "the sandbox process died" };
    default:
      return { code: "E_INTERNAL", message: "the isolate was disposed" };
  }
}

/** The failure behind an outcome that is not "ok"; a bare stop becomes E_INTERNAL naming the step it cut. */
export function failureIn(outcome: SandboxNotOk, step: string): SandboxFailure {
  return outcome.error ?? { code: "E_INTERNAL", message: `${step}: ${outcome.kind}` };
}

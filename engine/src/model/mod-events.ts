import type { ErrorCode } from "../errors/error-codes.js";
import type { ErrorInfo } from "../errors/modhost-error.js";

/** A mod's status as operators see it. */
/** A mod's status; "starting": its first load is still being type-checked or started (until it runs or faults). */
export type ModStatus = "starting" | "running" | "faulted" | "quarantined" | "pending-approval";

/** One mod's answer to one emitted event; `V` is the handler's result type on a typed host. */
export interface EmitResult<V = unknown> {
  readonly mod: string;
  readonly version: string;
  readonly ok: boolean;
  readonly value?: V;
  readonly error?: ErrorInfo;
}

/** A fault: a mod hit a limit, crashed the sandbox, or could not be restored. */
export interface FaultEvent {
  readonly mod: string;
  readonly version: string;
  readonly code: ErrorCode;
  readonly message: string;
  /** The event being handled when it happened, if any. */
  readonly event?: string;
  readonly quarantined: boolean;
  /**
   * Where in the mod's .ts source, when known: for `E_TIMEOUT`, the statement it was running when
   * the limit hit (found by running the call again with a profiler). Line 1-based, column 0-based.
   */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/** One event of a tick given to `ModHost.emitMany()`: what `emit(event, payload)` takes, as an object. */
export interface TickEvent {
  readonly event: string;
  readonly payload?: unknown;
}

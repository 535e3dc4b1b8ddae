import type { ModVersion } from "../compile/mod-version.js";
import type { ErrorCode } from "../errors/error-codes.js";
import type { ErrorInfo, ErrorLocation } from "../errors/modhost-error.js";
import type { ModStatus } from "../model/mod-events.js";
import type { SwapPlan } from "../model/swap-plan.js";
import type { Probation } from "../swap/probation.js";
import { faultEvent, locationOf, type FaultOptions } from "./fault-event.js";
import { LiveInstance } from "./live-instance.js";
import type { SlotContext } from "./slot-context.js";
import { mappedError, slotError } from "./slot-errors.js";

/**
 * What the parts of one slot share: the live version and its history, the status and last error,
 * the instance in the sandbox, and the fault counters. Each part (queue, runner, recovery,
 * journal, swap) reads and changes these fields; only the ModSlot exposes them.
 */
export class SlotState {
  readonly name: string;
  readonly ctx: SlotContext;
  readonly instance: LiveInstance;
  version: ModVersion;
  /** Earlier versions, oldest first (at most historySize - 1). */
  previous: ModVersion[] = [];
  pendingApproval: { version: ModVersion; plan: SwapPlan } | undefined;
  status: ModStatus = "running";
  shape: { readonly events: readonly string[] } | undefined;
  lastError: ErrorInfo | undefined;
  consecutiveFaults = 0;
  /** How many upcoming events run one at a time, to find the culprit of a lost batch. */
  singleStep = 0;
  probation: Probation | undefined;

  constructor(version: ModVersion, ctx: SlotContext) {
    this.name = version.manifest.name;
    this.version = version;
    this.ctx = ctx;
    this.instance = new LiveInstance(ctx.backend);
  }

  /** Faulted or quarantined: events are answered with an error, not run. */
  get stopped(): boolean {
    return this.status === "quarantined" || this.status === "faulted";
  }

  info(code: ErrorCode, message: string): ErrorInfo {
    return slotError(this.name, code, message);
  }

  /** An ErrorInfo mapped to the .ts source of `version` (the live one unless said). */
  errorInfo(code: string, message: string, stack?: string, version: ModVersion = this.version): ErrorInfo {
    return mappedError(this.name, version, code, message, stack);
  }

  /** A failure from the sandbox (SandboxFailure, or an event's WireError) as an ErrorInfo mapped to the .ts source of `version` (the live one unless said). */
  failureInfo(failure: { readonly code: string; readonly message: string; readonly stack?: string | undefined } & ErrorLocation, version: ModVersion = this.version): ErrorInfo {
    const info = mappedError(this.name, version, failure.code, failure.message, failure.stack);
    // A position known without a stack (a timeout's handler declaration: slot/timeout-location.ts).
    return info.file === undefined && failure.file !== undefined ? { ...info, ...locationOf(failure) } : info;
  }

  /** Reports a fault of the live version to the host. */
  fault(code: ErrorCode, message: string, options: FaultOptions = {}): void {
    this.ctx.fault(faultEvent(this.name, this.version.manifest.version, code, message, options));
  }

  /** Marks the mod faulted with `error` (it could not start, or its state cannot be brought back). */
  failStart(error: ErrorInfo): ErrorInfo {
    this.status = "faulted";
    this.lastError = error;
    return error;
  }
}

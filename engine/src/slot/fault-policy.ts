import { ERROR_CODES, type ErrorCode } from "../errors/error-codes.js";
import type { ErrorLocation } from "../errors/modhost-error.js";
import type { StopReason, WireResult } from "../model/wire.js";
import type { SlotJournal } from "./slot-journal.js";
import type { SlotState } from "./slot-state.js";

/** What the runner does after a dispatch stopped early (the culprit rules). */
export interface StopVerdict {
  /** Answer the culprit (the first event that did not finish) with this error, and count the fault. */
  readonly fail?: { readonly code: ErrorCode; readonly message: string };
  /** Run the next this-many events one at a time, to find which one it was. */
  readonly singleStep?: number;
  /** Count a fault without failing an event (they all run again after the respawn). */
  readonly count?: { readonly code: ErrorCode; readonly message: string; readonly event: string | undefined };
}

/**
 * The culprit rules. `rest` names the events that did not finish, the culprit first; `limits` are
 * the live version's. A timeout blames the event that ran; a memory hit blames it when it ran
 * alone, else the batch runs again one event at a time; a crash counts against the mod (the
 * events run again, one at a time if there were several); another mod's crash ("lost") or a
 * disposed instance blames nobody.
 */
export function judgeStop(stop: StopReason, rest: readonly string[], limits: { readonly callTimeoutMs: number; readonly memoryMb: number }): StopVerdict {
  const culprit = rest[0];
  switch (stop) {
    case "timeout":
      return culprit === undefined ? {} : { fail: { code: "E_TIMEOUT", message: `on.${culprit}() ran past the ${limits.callTimeoutMs} ms time limit and was stopped; its changes to the state were undone` } };
    case "memory":
      if (rest.length > 1) return { singleStep: rest.length };
      return culprit === undefined ? {} : { fail: { code: "E_MEMORY_LIMIT", message: `on.${culprit}() ran past the ${limits.memoryMb} MB memory limit; the state was restored to before this event` } };
    case "crashed": {
      const message = `the sandbox process died while ${rest.length > 1 ? "a batch of" : `on.${culprit}()`} ${rest.length > 1 ? "events was" : "was"} running`;
      return { ...(rest.length > 1 ? { singleStep: rest.length } : {}), count: { code: "E_SANDBOX_CRASHED", message, event: rest.length === 1 ? culprit : undefined } };
    }
    case "lost":
    case "disposed":
      return {};
  }
}

/**
 * Counts a fault towards quarantine: `quarantineAfter` in a row quarantine the mod (until a new
 * version is loaded). Reports the fault either way.
 */
export function countFault(slot: SlotState, journal: SlotJournal, code: ErrorCode, message: string, event: string | undefined, at?: ErrorLocation): void {
  slot.consecutiveFaults++;
  const quarantined = slot.consecutiveFaults >= slot.ctx.quarantineAfter;
  if (quarantined) {
    slot.status = "quarantined";
    slot.lastError = slot.info("E_QUARANTINED", `mod ${slot.name} was quarantined after ${slot.consecutiveFaults} faults in a row; last: ${message}`);
    journal.writeMetaLater();
  }
  slot.fault(code, message, { event, quarantined, ...(at?.file !== undefined ? { at } : {}) });
}

/**
 * What an event's result says about a version on probation, or undefined when it says nothing
 * (a storage fault). A failure the game caused (a capability that threw or was too slow) counts
 * as "ok"; a time, memory or crash stop is a "termination".
 */
export function probationOutcome(result: WireResult): "ok" | "error" | "termination" | undefined {
  if (result.ok) return "ok";
  const code = result.error.code;
  if (code === "E_PERSIST_FAILED") return undefined;
  if (ERROR_CODES[code as ErrorCode] === "game") return "ok";
  return code === "E_TIMEOUT" || code === "E_MEMORY_LIMIT" || code === "E_SANDBOX_CRASHED" ? "termination" : "error";
}

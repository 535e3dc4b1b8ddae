/**
 * Messages between the host (the supervisor) and the sandbox process. Both sides import these.
 *
 * File descriptors in the sandbox process: 3 carries requests in (read asynchronously), 4 carries
 * replies, logs and capability calls out (written synchronously, so nothing is lost to a crash
 * that follows), 5 carries capability replies in (read synchronously while a mod waits on one).
 */
import type { CommitMode, StateInit } from "../sandbox/sandbox-backend.js";
import type { CapabilityAnswer, CapabilityCall, LoadSpec, StopReason, WireEvent } from "../model/wire.js";

export const FD_REQUESTS = 3;
export const FD_OUT = 4;
export const FD_CAPABILITY_REPLIES = 5;

/** A request to the sandbox process; a frame carries an array of them, run in order. */
export type SandboxRequest =
  | { readonly op: "start"; readonly id: number; readonly spec: LoadSpec; readonly seed: readonly number[]; readonly init: StateInit }
  | { readonly op: "dispatch"; readonly id: number; readonly instance: string; readonly events: readonly WireEvent[]; readonly replay: boolean }
  | { readonly op: "export"; readonly id: number; readonly instance: string }
  | { readonly op: "stage"; readonly id: number; readonly instance: string; readonly spec: LoadSpec }
  | { readonly op: "commit"; readonly id: number; readonly instance: string; readonly mode: CommitMode }
  | { readonly op: "abort"; readonly id: number; readonly instance: string }
  | { readonly op: "adopt"; readonly id: number; readonly instance: string; readonly init: Extract<StateInit, { kind: "import" | "migrate" }> }
  | { readonly op: "heap"; readonly id: number; readonly instance: string }
  | { readonly op: "stop"; readonly id: number; readonly instance: string }
  // w17-cpu: to a spare only, never answered: make `count` isolates with `memoryMb` ahead of need.
  | { readonly op: "pool"; readonly id: number; readonly count: number; readonly memoryMb: number };

/** A message from the sandbox process. */
export type SandboxMessage =
  | { readonly t: "ready"; readonly pid: number }
  | { readonly t: "res"; readonly id: number; readonly value: unknown }
  | { readonly t: "out"; readonly id: number; readonly stop?: StopReason; readonly late?: number; readonly results: readonly unknown[] }
  | { readonly t: "log"; readonly mod: string; readonly level: string; readonly message: string }
  | { readonly t: "cap"; readonly call: CapabilityCall };

/**
 * A capability answer on fd 5: one frame whose text is "1" (the game was late) or "0", then the
 * reply envelope's JSON.
 */
export function encodeCapabilityAnswer(answer: CapabilityAnswer): string {
  return `${answer.late ? "1" : "0"}${answer.reply}`;
}

/** The inverse of encodeCapabilityAnswer. */
export function decodeCapabilityAnswer(text: string): CapabilityAnswer {
  return { late: text.startsWith("1"), reply: text.slice(1) };
}

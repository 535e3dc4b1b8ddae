/**
 * Messages between the host (ProcessBackend) and the sandbox process. Both sides import these.
 *
 * File descriptors in the sandbox process: 3 carries requests in (read asynchronously), 4 carries
 * replies, logs and capability calls out (written synchronously, so nothing is lost to a crash
 * that follows), 5 carries capability replies in (read synchronously while a mod waits on one),
 * 6 is a file (not a pipe) where the process writes the id of the request it is about to run, so
 * that after a crash the host knows which request of a frame was running (no one reads it while
 * all is well, so writing it wakes nobody).
 */
import { ModhostError } from "../errors/modhost-error.js";
import type { AdoptInit, CommitMode, RestoreOutcome, RestoreRequest, StartedInstance, StateInit } from "../sandbox/sandbox-backend.js";
import type { SandboxOutcome } from "../sandbox/sandbox-outcome.js";
import type { CapabilityAnswer, CapabilityCall, DispatchResult, LoadSpec, ModShape, StateSnapshot, WireEvent } from "../model/wire.js";

export const FD_REQUESTS = 3;
export const FD_OUT = 4;
export const FD_CAPABILITY_REPLIES = 5;
export const FD_PROGRESS = 6;
/**
 * Bytes of the progress record on fd 6, two little-endian doubles: at offset 0 the running
 * request's id (NaN before the first), at 8 the milliseconds the process has spent in all blocked
 * on writing to fd 4 (the host not reading: its time, not the process's).
 */
export const PROGRESS_BYTES = 16;

/** Heap figures of an instance. */
export interface HeapFigures {
  readonly usedBytes: number;
  readonly limitBytes: number;
}

/** A dispatch's reply as it travels: DispatchResult with its results still a result list (model/result-list.ts). */
export type DispatchReply = Omit<DispatchResult, "results"> & { readonly results: readonly unknown[] };

/**
 * Every request the host makes of the sandbox process: its kind, what it carries, and what the
 * process answers. The two sides and the reply checks below are all derived from this map.
 */
export interface SandboxProtocol {
  start: { request: { readonly spec: LoadSpec; readonly seed: readonly number[]; readonly init: StateInit }; reply: SandboxOutcome<StartedInstance> };
  /** A start from a checkpoint and the journal's tail replayed; its events travel in the frame's table. */
  restore: { request: RestoreRequest; reply: RestoreOutcome };
  /** The results are forwarded as the isolate serialized them (a result list); the child never parses them. */
  dispatch: { request: { readonly instance: string; readonly events: readonly WireEvent[]; readonly replay: boolean }; reply: DispatchReply };
  export: { request: { readonly instance: string }; reply: SandboxOutcome<StateSnapshot> };
  stage: { request: { readonly instance: string; readonly spec: LoadSpec }; reply: SandboxOutcome<ModShape> };
  commit: { request: { readonly instance: string; readonly mode: CommitMode }; reply: SandboxOutcome<void> };
  abort: { request: { readonly instance: string }; reply: null };
  adopt: { request: { readonly instance: string; readonly init: AdoptInit }; reply: SandboxOutcome<void> };
  heap: { request: { readonly instance: string }; reply: HeapFigures | null };
  stop: { request: { readonly instance: string }; reply: null };
  /**
   * To a spare process only (backends/warm-spare.ts): make `count` isolates with `memoryMb` ahead
   * of need (sandbox/isolate-pool.ts). Never answered: it is sent outside the request queue, and a
   * reply would arrive out of order once the spare became the live process.
   */
  pool: { request: { readonly count: number; readonly memoryMb: number }; reply: never };
  /**
   * To a spare process only, never answered (as `pool`): keep the preloaded versions whose keys
   * (sandbox/preloaded-versions.ts specKey) `keep` names, and load `add` ahead of the restores
   * after a crash.
   */
  preload: { request: { readonly keep: readonly string[]; readonly add: readonly LoadSpec[] }; reply: never };
}

/** A kind of request. */
export type RequestOp = keyof SandboxProtocol;
/** What a request of kind K carries. */
export type RequestBody<K extends RequestOp> = SandboxProtocol[K]["request"];
/** What the sandbox process answers to a request of kind K. */
export type ReplyOf<K extends RequestOp> = SandboxProtocol[K]["reply"];

/** One request of kind K; a frame carries the requests of a turn, run in order (backends/request-frame.ts). */
export interface RequestOf<K extends RequestOp> {
  readonly op: K;
  readonly id: number;
  readonly body: RequestBody<K>;
}

/** Any request, narrowed by its `op` (the sandbox process switches on it). */
export type SandboxRequest = { [K in RequestOp]: RequestOf<K> }[RequestOp];

/** The reply to one request; its value is read with readReply(). */
export interface SandboxReply {
  readonly id: number;
  readonly value: unknown;
}

/**
 * A message from the sandbox process. "res" carries the replies to a request frame's requests in
 * order: all of them when the frame has run, or those so far before a log or a capability call.
 */
export type SandboxMessage =
  | { readonly t: "ready"; readonly pid: number }
  | { readonly t: "res"; readonly replies: readonly SandboxReply[] }
  | { readonly t: "log"; readonly mod: string; readonly level: string; readonly message: string }
  | { readonly t: "cap"; readonly call: CapabilityCall };

function protocolError(message: string): ModhostError {
  return new ModhostError("E_SANDBOX_PROTOCOL", `the sandbox process sent ${message}`);
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads one frame's JSON as a message. `attachments` are the texts of the attachment frames
 * (backends/framing.ts) read since the last message: a "res" message's replies take them in
 * order, each a reply marked `"att": <its index>` whose value is an "ok" outcome carrying a state
 * snapshot with its `state` left out (a checkpoint's megabyte travels unescaped and is not parsed
 * here). Throws E_SANDBOX_PROTOCOL when it is not a message, or attachments and marks do not match.
 */
export function decodeMessage(json: string, attachments: readonly string[] = []): SandboxMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw protocolError(`a frame that is not JSON (${(err as Error).message})`);
  }
  if (!isRecord(raw)) throw protocolError("a frame that is not an object");
  if (raw.t !== "res" && attachments.length > 0) throw protocolError(`${attachments.length} attachment(s) before a message that takes none`);
  switch (raw.t) {
    case "ready":
      if (typeof raw.pid === "number") return { t: "ready", pid: raw.pid };
      break;
    case "res": {
      const replies = raw.replies;
      if (Array.isArray(replies) && replies.length > 0 && replies.every((r: unknown) => isRecord(r) && typeof r.id === "number" && "value" in r)) {
        attachStates(replies as Record<string, unknown>[], attachments);
        return { t: "res", replies: replies as SandboxReply[] };
      }
      break;
    }
    case "log":
      if (typeof raw.mod === "string" && typeof raw.level === "string" && typeof raw.message === "string") return { t: "log", mod: raw.mod, level: raw.level, message: raw.message };
      break;
    case "cap": {
      const call = capabilityCall(raw.call);
      if (call !== undefined) return { t: "cap", call };
      break;
    }
  }
  throw protocolError(`a message it cannot read (t: ${JSON.stringify(raw.t) ?? "none"})`);
}

/** Puts each attachment, in order, as the state of the reply marked with its index (`replies` are fresh objects from JSON.parse). */
function attachStates(replies: readonly Record<string, unknown>[], attachments: readonly string[]): void {
  let next = 0;
  for (const reply of replies) {
    if (!("att" in reply)) continue;
    const outcome = reply.value;
    if (reply.att !== next || next >= attachments.length || !isRecord(outcome) || outcome.kind !== "ok" || !isRecord(outcome.value) || "state" in outcome.value) {
      throw protocolError(`a reply marked for attachment ${JSON.stringify(reply.att)} that does not take attachment ${next} of ${attachments.length}`);
    }
    // The state first, as the sandbox's snapshot has it (a checkpoint written from it reads the same in either isolation).
    reply.value = { ...outcome, value: { state: attachments[next++], ...outcome.value } };
    delete reply.att;
  }
  if (next !== attachments.length) throw protocolError(`${attachments.length} attachment(s) for ${next} marked replies`);
}

function capabilityCall(raw: unknown): CapabilityCall | undefined {
  if (!isRecord(raw)) return undefined;
  const { mod, version, seq, permission, args } = raw;
  if (typeof mod !== "string" || typeof version !== "string" || typeof seq !== "number" || typeof permission !== "string" || typeof args !== "string") return undefined;
  return { mod, version, seq, permission, args };
}

const OUTCOME_KINDS: ReadonlySet<unknown> = new Set(["ok", "failed", "timeout", "memory", "disposed", "crashed", "lost"]);

function isOutcome(value: unknown): boolean {
  return isRecord(value) && OUTCOME_KINDS.has(value.kind) && (value.kind !== "failed" || isRecord(value.error));
}

/**
 * Shape checks of each reply: enough that the host reads only what the protocol map promises (the
 * values inside an outcome are the child's own JSON of the same types).
 */
const REPLY_CHECKS: { readonly [K in RequestOp]: (value: unknown) => value is ReplyOf<K> } = {
  start: (v): v is ReplyOf<"start"> => isOutcome(v) && (!isRecord(v) || v.kind !== "ok" || (isRecord(v.value) && typeof v.value.id === "string")),
  restore: (v): v is RestoreOutcome =>
    isRecord(v) &&
    ((v.kind === "ok" && isRecord(v.value) && typeof v.value.id === "string") ||
      (v.kind === "start-failed" && isOutcome(v.start) && isRecord(v.start) && v.start.kind !== "ok") ||
      (v.kind === "replay-failed" && typeof v.lost === "boolean" && typeof v.why === "string")),
  dispatch: (v): v is DispatchReply => isRecord(v) && Array.isArray(v.results),
  export: (v): v is ReplyOf<"export"> => isOutcome(v),
  stage: (v): v is ReplyOf<"stage"> => isOutcome(v),
  commit: (v): v is ReplyOf<"commit"> => isOutcome(v),
  abort: (v): v is null => v === null,
  adopt: (v): v is ReplyOf<"adopt"> => isOutcome(v),
  heap: (v): v is HeapFigures | null => v === null || (isRecord(v) && typeof v.usedBytes === "number" && typeof v.limitBytes === "number"),
  stop: (v): v is null => v === null,
  // Any reply to a request that is never answered is a broken protocol.
  pool: (_v): _v is never => false,
  preload: (_v): _v is never => false,
};

/** A reply's value as what the request of kind `op` answers. Throws E_SANDBOX_PROTOCOL when it is not. */
export function readReply<K extends RequestOp>(op: K, value: unknown): ReplyOf<K> {
  const check: (value: unknown) => value is ReplyOf<K> = REPLY_CHECKS[op];
  if (check(value)) return value;
  throw protocolError(`a reply to "${op}" of the wrong shape`);
}

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

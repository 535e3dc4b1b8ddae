/**
 * Data that crosses between the host and a sandbox (in the same process or the sandbox child
 * process). Everything here is plain JSON data; both sides import these types.
 */

/** A compiled module as the sandbox links it. */
export interface WireModule {
  /** Path relative to the mod folder, e.g. "lib/util.ts"; also the isolate's filename for it. */
  readonly path: string;
  readonly js: string;
  /** Each import specifier of this module -> the path it links to, or "@modhost/sdk". */
  readonly imports: Readonly<Record<string, string>>;
}

/** Everything a sandbox needs to bring up one version of a mod. */
export interface LoadSpec {
  readonly name: string;
  readonly version: string;
  readonly hash: string;
  readonly entry: string;
  readonly modules: readonly WireModule[];
  /** The granted permissions; `ctx.host` gets exactly these functions. */
  readonly permissions: readonly string[];
  readonly memoryMb: number;
  readonly callTimeoutMs: number;
  /** Cap on results, capability arguments and log lines, in characters. */
  readonly maxBytes: number;
  readonly maxLogsPerCall: number;
  /**
   * A capability call's time charged to the mod is capped at this (ms); a game answering slower
   * fails the call and the time is the game's. Default 100.
   */
  readonly capabilityTimeoutMs?: number;
  /** Log lines a mod may send out of the sandbox per second (default 200). */
  readonly logLinesPerSecond?: number;
  /** Log text (characters) a mod may send out of the sandbox per second (default 1 MiB). */
  readonly logBytesPerSecond?: number;
}

/** What the sandbox learned about the mod's definition while loading it. */
export interface ModShape {
  readonly events: readonly string[];
  readonly hasInit: boolean;
  readonly hasMigrate: boolean;
}

/** A mod's resumable world: its state (JSON text) and its random generator's position. */
export interface StateSnapshot {
  readonly state: string;
  readonly rng: readonly number[];
  /**
   * How long the export took where the isolate runs (ms), set by an export: a checkpoint's own
   * cost, without the other mods' requests around it. Not written to disk.
   */
  readonly costMs?: number;
}

/** A capability call made while handling an event, and the envelope it returned. */
export interface CapabilityRecord {
  readonly permission: string;
  readonly reply: string;
}

/** One event for one mod. `caps` are answers already given, served again on retry or replay. */
export interface WireEvent {
  readonly seq: number;
  readonly name: string;
  /** The payload as JSON text. */
  readonly payload: string;
  /** Logical time (ms since the epoch) the mod sees as Date.now(). */
  readonly now: number;
  readonly caps?: readonly CapabilityRecord[];
}

/** The error part of a failed event result, as the isolate reports it. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  /** The isolate's stack text (JS positions), mapped to .ts positions on the host. */
  readonly stack?: string;
  /** A .ts position the host found without a stack (a timeout's handler declaration); line 1-based, column 0-based. */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/** The result of one event. `value` is parsed JSON data. */
export type WireResult = { readonly ok: true; readonly value?: unknown } | { readonly ok: false; readonly error: WireError };

/** Why a dispatch stopped before every event ran. */
export type StopReason = "timeout" | "memory" | "disposed" | "crashed" | "lost";

/**
 * The outcome of dispatching events to one mod inside a sandbox: the results of the first `count`
 * events as a result list's JSON text (model/result-list.ts; kept as text so the sandbox process
 * can forward it unparsed), and
 * if it stopped early, why. On "timeout" the event at index `count` is the one that ran out of
 * time; on "memory" or "crashed" the culprit is one of the events from `count` on.
 */
export interface DispatchOutcome {
  readonly count: number;
  readonly resultsJson: string;
  readonly stop?: StopReason;
  /** Times work a handler left behind (promise callbacks) ran past the limit after it returned. */
  readonly late?: number;
  /** How long the dispatch ran, where its isolate runs (ms): the events' own time, without queueing. */
  readonly ranMs: number;
}

/** The same outcome as the host receives it, with results parsed. */
export interface DispatchResult {
  readonly results: readonly WireResult[];
  readonly stop?: StopReason;
  readonly late?: number;
  /** DispatchOutcome's; absent when the dispatch never ran or its process died. */
  readonly ranMs?: number;
}

/**
 * The reply envelope of a capability call, as the isolate receives it. A refusal with `final`
 * holds for the rest of the event: the prelude fails every further call of that event the same
 * way without crossing. `cut` means the event's time budget is spent: the event is stopped as a
 * timeout (its result dropped, its changes undone) and the slice ends after it.
 */
export type CapabilityReply =
  | { readonly ok: true; readonly value?: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly final?: true; readonly cut?: true };

/** A capability call as it leaves the sandbox. */
export interface CapabilityCall {
  readonly mod: string;
  /** Hash of the version whose code made the call (calls are answered only inside its events). */
  readonly version: string;
  /** The event being handled. */
  readonly seq: number;
  readonly permission: string;
  /** The arguments as JSON text (an array). */
  readonly args: string;
}

/** The host's answer to a capability call. */
export interface CapabilityAnswer {
  /** A CapabilityReply as JSON text. */
  readonly reply: string;
  /** The game took longer than the capability time limit: the call failed and its time is the game's. */
  readonly late: boolean;
}

/** A sandbox's view of the host: log lines out, capability calls answered synchronously. */
export interface SandboxBridge {
  log(mod: string, level: string, message: string): void;
  /** Answers a capability call. Never throws. */
  capability(call: CapabilityCall): CapabilityAnswer;
}

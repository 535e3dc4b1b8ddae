import type { SandboxNotOk, SandboxOutcome } from "./sandbox-outcome.js";
import type { DispatchResult, LoadSpec, ModShape, StateSnapshot, WireEvent } from "../model/wire.js";

/** How a new instance gets its first state. */
export type StateInit =
  | { readonly kind: "init"; readonly now: number }
  /** Code loaded, no state yet: a warm instance that adopt() gives a state at a swap's barrier. */
  | { readonly kind: "empty" }
  | { readonly kind: "import"; readonly snapshot: StateSnapshot }
  | { readonly kind: "migrate"; readonly snapshot: StateSnapshot; readonly fromVersion: string; readonly now: number };

/** How adopt() gives a state to an instance started "empty". */
export type AdoptInit = Extract<StateInit, { kind: "import" | "migrate" }>;

/** A started instance: its id and what its definition handles. */
export interface StartedInstance {
  readonly id: string;
  readonly shape: ModShape;
}

/** How a staged version goes live: with the state handed over, or through its migrate(). */
export type CommitMode = { readonly kind: "handover" } | { readonly kind: "migrate"; readonly fromVersion: string; readonly now: number };

/** One step of a journal's tail, replayed in order by restore(): events, or a change of version. */
export type ReplayStep =
  | { readonly kind: "events"; readonly events: readonly WireEvent[] }
  /** The version staged, then made live as the journal says (handed over, or migrated). */
  | { readonly kind: "version"; readonly spec: LoadSpec; readonly mode: CommitMode };

/** A restore: an instance started from a checkpoint, then the journal's tail replayed. */
export interface RestoreRequest {
  readonly spec: LoadSpec;
  readonly snapshot: StateSnapshot;
  readonly steps: readonly ReplayStep[];
}

/** What restore() answers. */
export type RestoreOutcome =
  | { readonly kind: "ok"; readonly value: StartedInstance }
  /** Starting from the checkpoint did not succeed, as start() would have answered (the sandbox's death included). */
  | { readonly kind: "start-failed"; readonly start: SandboxNotOk }
  /**
   * The replay failed and the instance is stopped. `lost`: it was cut on a starved machine
   * (sandbox/cpu-budget.ts), lost work rather than the mod's fault: try again.
   */
  | { readonly kind: "replay-failed"; readonly lost: boolean; readonly why: string };

/**
 * A call that ran past its time limit, to run again in a throwaway isolate with a profiler on
 * (sandbox/timeout-locator.ts). Mods are deterministic (seeded random numbers, logical clock), so
 * the same code from the same state loops in the same place. Without `event`, the version's
 * start is located (its modules' top-level code, then init() at `now`); with it, `snapshot` is
 * the state before the event, which runs with its recorded capability answers only.
 */
export interface LocateRequest {
  readonly spec: LoadSpec;
  readonly seed: readonly number[];
  readonly now: number;
  readonly snapshot?: StateSnapshot;
  readonly event?: WireEvent;
  /** With no event: which call timed out (default: a start, the modules then init()). */
  readonly call?: LocateCall;
}

/**
 * A located call other than an event or a start: "load", a staged version's modules only (its
 * top-level code); "migrate", migrate() from `fromVersion` on the request's snapshot.
 */
export type LocateCall = { readonly kind: "load" } | { readonly kind: "migrate"; readonly fromVersion: string };

/** Does `request` locate an event (limit: the call limit), not a start, load or migrate() (10x it)? */
export function locatesEvent(request: LocateRequest): boolean {
  return request.call === undefined && request.event !== undefined;
}

/**
 * The memory limit of a located run, as a multiple of the mod's: a run that reached it would
 * deadlock its process (isolated-vm's inspector, backends/stall-watch.ts), so it has more room
 * than the mod had, and ends at the time limit as the located call did, as a rule.
 */
export const PROFILED_MEMORY_FACTOR = 4;

/**
 * Where a timed-out call spent its time: the line of the mod's compiled code (`file` is the
 * module's path, `line` 1-based in its JS) with the most profiler ticks.
 */
export interface HotSpot {
  readonly file: string;
  readonly line: number;
}

/** What a sandbox process crash looked like, for fault reports. */
export interface CrashInfo {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The instance whose request was in flight, if any. */
  readonly culprit?: string;
  readonly stderrTail: string;
}

/**
 * Where mod instances run: in this process ("inline") or in a supervised sandbox process. Both
 * run requests for one instance in the order they were made. After a sandbox process restart
 * every instance is gone and `generation` has grown; owners then start new ones.
 */
export interface SandboxBackend {
  readonly kind: "inline" | "process";
  readonly generation: number;
  start(spec: LoadSpec, seed: readonly number[], init: StateInit): Promise<SandboxOutcome<StartedInstance>>;
  /**
   * Brings an instance back from a checkpoint and replays the journal's tail, all in one request
   * (the restores of a crash travel together: one frame per sandbox process, not a round trip
   * per step and mod). Same effect as start() with the snapshot, then dispatch(replay) and
   * stage()/commit() in the journal's order.
   */
  restore(request: RestoreRequest): Promise<RestoreOutcome>;
  dispatch(id: string, events: readonly WireEvent[], replay: boolean): Promise<DispatchResult>;
  exportState(id: string): Promise<SandboxOutcome<StateSnapshot>>;
  /** Loads another version's code into a live instance, beside the version that keeps serving. */
  stage(id: string, spec: LoadSpec): Promise<SandboxOutcome<ModShape>>;
  /** Makes the staged version live. With "migrate", returns the migrated state's snapshot. */
  commit(id: string, mode: CommitMode): Promise<SandboxOutcome<void>>;
  /** Forgets a staged version. */
  abortStaged(id: string): Promise<void>;
  /** Gives an instance started "empty" its state: imported as it is, or through its migrate(). */
  adopt(id: string, init: AdoptInit): Promise<SandboxOutcome<void>>;
  /**
   * False once the instance is known to be gone although `generation` did not change (a pool
   * member's crash takes only its own instances); owners then restore it as after a restart.
   */
  holds(id: string): boolean;
  heap(id: string): Promise<{ usedBytes: number; limitBytes: number } | undefined>;
  /** Runs a timed-out call again, profiled, in a throwaway isolate: null when nothing was found. */
  locate(request: LocateRequest): Promise<HotSpot | null>;
  stop(id: string): Promise<void>;
  /** Called with every crash of the sandbox process (never for inline). */
  onCrash(listener: (info: CrashInfo) => void): void;
  close(): Promise<void>;
}

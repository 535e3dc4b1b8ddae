import type { InstanceFailure, StateOutcome } from "./mod-instance.js";
import type { DispatchResult, LoadSpec, ModShape, StateSnapshot, WireEvent } from "../model/wire.js";

/** How a new instance gets its first state. */
export type StateInit =
  | { readonly kind: "init"; readonly now: number }
  /** Code loaded, no state yet: a warm instance that adopt() gives a state at a swap's barrier. */
  | { readonly kind: "empty" }
  | { readonly kind: "import"; readonly snapshot: StateSnapshot }
  | { readonly kind: "migrate"; readonly snapshot: StateSnapshot; readonly fromVersion: string; readonly now: number };

/** The result of starting an instance: its id and shape, or why it could not start. */
export type StartResult =
  | { readonly ok: true; readonly id: string; readonly shape: ModShape }
  | { readonly ok: false; readonly error: InstanceFailure; readonly stop?: "timeout" | "memory" | "crashed" | "lost" };

/** The result of staging a version's code in a live instance. */
export type StageResult =
  | { readonly ok: true; readonly shape: ModShape }
  | { readonly ok: false; readonly error: InstanceFailure; readonly stop?: "crashed" | "lost" | "disposed" };

/** How a staged version goes live: with the state handed over, or through its migrate(). */
export type CommitMode = { readonly kind: "handover" } | { readonly kind: "migrate"; readonly fromVersion: string; readonly now: number };

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
  start(spec: LoadSpec, seed: readonly number[], init: StateInit): Promise<StartResult>;
  dispatch(id: string, events: readonly WireEvent[], replay: boolean): Promise<DispatchResult>;
  exportState(id: string): Promise<StateOutcome<StateSnapshot>>;
  /** Loads another version's code into a live instance, beside the version that keeps serving. */
  stage(id: string, spec: LoadSpec): Promise<StageResult>;
  /** Makes the staged version live. With "migrate", returns the migrated state's snapshot. */
  commit(id: string, mode: CommitMode): Promise<StateOutcome<StateSnapshot | null>>;
  /** Forgets a staged version. */
  abortStaged(id: string): Promise<void>;
  /** Gives an instance started "empty" its state: imported as it is, or through its migrate(). */
  adopt(id: string, init: Extract<StateInit, { kind: "import" | "migrate" }>): Promise<StateOutcome<void>>;
  heap(id: string): Promise<{ usedBytes: number; limitBytes: number } | undefined>;
  stop(id: string): Promise<void>;
  /** Called with every crash of the sandbox process (never for inline). */
  onCrash(listener: (info: CrashInfo) => void): void;
  close(): Promise<void>;
}

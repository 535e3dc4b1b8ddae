import type { InstanceFailure, StateOutcome } from "./mod-instance.js";
import type { DispatchResult, LoadSpec, ModShape, StateSnapshot, WireEvent } from "./wire.js";

/** How a new instance gets its first state. */
export type StateInit =
  | { readonly kind: "init"; readonly now: number }
  | { readonly kind: "import"; readonly snapshot: StateSnapshot }
  | { readonly kind: "migrate"; readonly snapshot: StateSnapshot; readonly fromVersion: string; readonly now: number };

/** The result of starting an instance: its id and shape, or why it could not start. */
export type StartResult =
  | { readonly ok: true; readonly id: string; readonly shape: ModShape }
  | { readonly ok: false; readonly error: InstanceFailure; readonly stop?: "timeout" | "memory" | "crashed" | "lost" };

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
  heap(id: string): Promise<{ usedBytes: number; limitBytes: number } | undefined>;
  stop(id: string): Promise<void>;
  /** Called with every crash of the sandbox process (never for inline). */
  onCrash(listener: (info: CrashInfo) => void): void;
  close(): Promise<void>;
}

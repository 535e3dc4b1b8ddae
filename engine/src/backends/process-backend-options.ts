import type { SandboxProcess, SandboxProcessListener } from "./sandbox-process.js";

/** Options of the process backend. */
export interface ProcessBackendOptions {
  /** Extra time past a request's own limits before the sandbox process is presumed wedged. */
  readonly graceMs: number;
  /**
   * The watchdog charges a request its wall time minus the time the sandbox waited for a CPU;
   * past this many times its budget of wall time it is killed however starved (default 10).
   */
  readonly wallBackstopFactor?: number;
  /**
   * Start sandbox processes with V8's `--predictable`, which keeps each isolate's young generation
   * instead of returning it after every scavenge (backends/sandbox-node-flags.ts). Default false.
   */
  readonly predictableGc?: boolean;
  /** Keep a spare sandbox process ready to take over after a crash (default true). */
  readonly warmSpare?: boolean;
  /**
   * Isolates the spare makes ahead of need, one per live mod up to this many (default 128; each
   * costs about 1.2 MB in the spare while it waits). 0 makes none.
   */
  readonly spareIsolates?: number;
  /**
   * A spare shared with other backends (backends/process-pool.ts): taken after a crash instead of
   * this backend's own, which is then not started (`warmSpare` is ignored).
   */
  readonly sharedSpare?: SpareSource;
  /** Numbers each launched process (instance ids carry it); shared by a pool so ids never repeat. */
  readonly nextLaunch?: () => number;
}

/** A spare sandbox process owned elsewhere (backends/shared-spare.ts). */
export interface SpareSource {
  /** A ready spare, whose messages and exit go to `listener` from now on; undefined if none is ready. */
  take(listener: SandboxProcessListener): SandboxProcess | undefined;
  /**
   * A mod started (with `memoryMb`) or changed version in a process that may crash: the spare
   * makes one more isolate and loads the live versions ahead of need.
   */
  started(memoryMb?: number): void;
}

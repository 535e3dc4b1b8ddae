import { V8FlagSwitch } from "./v8-flag-switch.js";

const LAZY = new V8FlagSwitch("lazy");

/**
 * Runs `compile` with V8's lazy compilation off: every function of the script compiled inside gets
 * its bytecode now, instead of at its first call.
 *
 * Why: a spare sandbox process makes isolates ahead of need and runs the prelude in each
 * (sandbox/isolate-pool.ts), but V8 compiles a script's inner functions only when they are first
 * called, so after a crash every restored mod still compiled the prelude's API (boot, stage,
 * importState, dispatch and what they call) on the recovery path: 44 % of the spare's CPU in a
 * 100-mod takeover was V8's lazy compile (`perf record -p <spare>`). Compiled while the spare
 * waits, that work is off the path (docs/benchmarks.md finding 12).
 *
 * The flag is process-wide and read when a script or function is parsed: call this only in a
 * process modhost owns (the sandbox process), where nothing else compiles meanwhile on this
 * thread; anything another thread parses at that moment is compiled eagerly too, which costs it
 * time only.
 */
export function withEagerCompilation<T>(compile: () => T): T {
  return LAZY.off(compile);
}

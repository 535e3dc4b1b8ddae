import { setFlagsFromString } from "node:v8";

/** V8's spellings of the flag, on or off (`--no-`, `--no`, hyphens or underscores). */
const RECOMPILATION_FLAG = /^--(no-?)?concurrent[-_]recompilation$/;

/**
 * Whether this process was started with V8's concurrent recompilation off (a sandbox process is:
 * backends/sandbox-node-flags.ts); the last spelling on the command line wins, as in V8. Then
 * every isolate already compiles on its own thread and the flag is left alone: turning it back on
 * after making an isolate would hand the background compiler to every isolate made later.
 */
const OFF_FOR_PROCESS = ((): boolean => {
  const last = process.execArgv.filter((arg) => RECOMPILATION_FLAG.test(arg)).at(-1);
  return last !== undefined && RECOMPILATION_FLAG.exec(last)?.[1] !== undefined;
})();

/**
 * Runs `create`, which makes one isolated-vm isolate, with V8's concurrent recompilation off, and
 * turns it back on after: the new isolate optimizes its hot functions on its own thread, while the
 * game's isolate (and any made elsewhere) keeps V8's background compiler.
 *
 * Why: with many isolates taking turns, a background compile usually finishes while its isolate
 * is not running, and most of those compiles were never installed (2-80 %,
 * benchmarks/probes/tier-install.js): CPU spent for nothing, and the mods kept running unoptimized
 * code. V8 reads the flag once per isolate, when it creates the isolate's compile dispatchers
 * (Isolate::Init), so a flag set only around `new Isolate()` affects only that isolate.
 *
 * The flag is process-wide and isolates are made synchronously on the calling thread: a worker
 * thread whose isolate starts at the same moment (the game's, or modhost's own type-check worker,
 * compile/type-check-thread.ts) may be made without the background compiler, which costs it speed
 * only. That V8 reads the flag per isolate is V8's internal detail (newer V8 moves TurboFan's task
 * executor to a process-wide object): isolate-compile-mode.test.ts checks it on every Node the CI
 * runs.
 */
export function withSynchronousRecompilation<T>(create: () => T): T {
  if (OFF_FOR_PROCESS) return create();
  setFlagsFromString("--no-concurrent-recompilation");
  try {
    return create();
  } finally {
    setFlagsFromString("--concurrent-recompilation");
  }
}

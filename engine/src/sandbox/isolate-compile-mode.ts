import { setFlagsFromString } from "node:v8";

/**
 * Whether this process was started with V8's concurrent recompilation off (a sandbox process is:
 * backends/sandbox-node-flags.ts). Then every isolate already compiles on its own thread and the
 * flag is left alone.
 */
const OFF_FOR_PROCESS = process.execArgv.some((arg) => arg.replaceAll("_", "-") === "--no-concurrent-recompilation");

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
 * Isolates are made synchronously on the calling thread; a game that makes V8 isolates on other
 * threads at the same moment (worker threads) may see one of them made without the background
 * compiler, which costs it speed only.
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

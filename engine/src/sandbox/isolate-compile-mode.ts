import { V8FlagSwitch } from "./v8-flag-switch.js";

/**
 * `--predictable` and `--single-threaded` turn the background compiler off (V8 11.3 and 13.6, the
 * V8s of Node 20 and 24, the ones the CI runs; checked with `--print-flag-values`).
 */
const CONCURRENT_RECOMPILATION = new V8FlagSwitch("concurrent-recompilation", ["predictable", "single-threaded"]);

/**
 * Runs `create`, which makes one isolated-vm isolate, with V8's concurrent recompilation off: the
 * new isolate compiles its optimized code on its own thread, when V8 decides a function is hot,
 * and uses it from then on. Isolates made before and after (the game's own, its worker
 * threads') keep V8's background compiler.
 *
 * Why: isolated-vm enters an isolate with a top-level v8::Locker for every call, and
 * Locker::Initialize clears the isolate's stack guard (StackGuard::ClearThread), where a finished
 * background compile leaves its request to be installed. A mod's call is short (microseconds to a
 * few ms), so its compiles nearly always finish while it is not running: they are lost, and the
 * functions almost always stay in baseline code (docs/benchmarks.md finding 12: 100 isolates, 200-303
 * compiles started and 0-2 installed; 26 % less CPU per event on their own thread, Node 20 and
 * 24). The sandbox process runs every isolate this way (backends/sandbox-node-flags.ts), and
 * inline isolates now do too. The price, the same in both: the first optimizing compile of a
 * function runs inside the call that made it hot, and one long loop's on-stack replacement runs
 * 20-35 % slower (on Node 24 it stays at Maglev; docs/benchmarks.md finding 10).
 *
 * V8 reads the flag once per isolate (Isolate::Init creates its compile dispatchers), so setting it
 * only around `new Isolate()` affects only that isolate; isolate-compile-mode.test.ts checks that on
 * every Node the CI runs. Isolates are made synchronously on the calling thread; a worker thread
 * whose isolate starts at that very moment may be made without the background compiler too, which
 * costs it speed only.
 */
export function withSynchronousRecompilation<T>(create: () => T): T {
  return CONCURRENT_RECOMPILATION.off(create);
}

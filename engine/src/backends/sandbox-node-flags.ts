import { randomInt } from "node:crypto";

/**
 * Node and V8 flags of a sandbox process (backends/sandbox-main.ts), fresh for each launch.
 *
 * - `--no-node-snapshot`: isolated-vm needs it.
 * - `--no-concurrent-recompilation`: V8's background optimizing compiler finishes a compile while
 *   its isolate is not running, and with many isolates taking turns most of those compiles were
 *   never installed (2-80 % were, benchmarks/probes/tier-install.js): their CPU was spent for
 *   nothing and the isolates kept running unoptimized code. Compiling on the isolate's own thread
 *   installs every compile (a few ms, once per hot function per isolate).
 * - `--predictable`: V8 shrinks an isolate's young generation and gives its pages back to the
 *   system after every scavenge while the isolate allocates under 1000 bytes per millisecond of
 *   wall time (Heap::ShouldResizeNewSpace), and only this flag turns that off. One isolate of 100
 *   taking turns always looks idle by that measure, so every page of its young generation was
 *   faulted in again after each scavenge: 0.22 page faults per mod-event, at 12.5 us each on the
 *   benchmark VM (a touch of fresh memory: benchmarks/probes/page-fault-cost.js). With it, 100
 *   combat mods took 3.6-8 us of sandbox CPU per mod-event against 13-23 us. It also makes garbage
 *   collection single-threaded (the sandbox runs one isolate at a time, and the second core is
 *   the game's) and stops the memory reducer.
 * - `--random-seed`, `--hash-seed`: `--predictable` fixes V8's seeds (the same Math.random() in
 *   every process, and string hashes anyone could compute: hash flooding by crafted payload keys).
 *   Each launch draws its own instead.
 */
export function sandboxNodeFlags(): string[] {
  return [
    "--no-node-snapshot",
    "--no-concurrent-recompilation",
    "--predictable",
    `--random-seed=${randomInt(1, 2 ** 31 - 1)}`,
    `--hash-seed=${randomInt(1, 2 ** 31 - 1)}`,
  ];
}

import { randomBytes, randomInt } from "node:crypto";

/**
 * Node and V8 flags of a sandbox process (backends/sandbox-main.ts), fresh for each launch.
 *
 * - `--no-node-snapshot`: isolated-vm needs it.
 * - `--no-concurrent-recompilation`: V8's background optimizing compiler finishes a compile while
 *   its isolate is not running, and with many isolates taking turns most of those compiles were
 *   never installed (2-80 % were, benchmarks/probes/tier-install.js; the request to install one is
 *   lost when isolated-vm's Locker enters the isolate, sandbox/isolate-compile-mode.ts): their CPU
 *   was spent for nothing and the isolates kept running unoptimized code. Compiling on the
 *   isolate's own thread installs every compile (a few ms, once per hot function per isolate).
 *   Its price: one long call's loop runs 20-35 % slower (on Node 24 its on-stack replacement
 *   stops at Maglev; a loop filling 2M doubles: 305 against 225 ms), docs/benchmarks.md finding 10.
 * - With `predictableGc` (the host option `sandboxPredictableGc`), `--predictable`: V8 shrinks an
 *   isolate's young generation and gives its pages back to the system after every scavenge while
 *   the isolate allocates under 1000 bytes per millisecond of wall time
 *   (Heap::ShouldResizeNewSpace), and only this flag turns that off. One isolate of 100 taking
 *   turns always looks idle by that measure, so every page of its young generation is faulted in
 *   again after each scavenge: 0.22 page faults per mod-event. Where a fault is dear (12 us on the
 *   benchmark VM, benchmarks/probes/page-fault-cost.js; about 0.25 us on bare metal) that was most
 *   of the sandbox's CPU: 100 combat mods took 3.6-8 us of it per mod-event with the flag, 13-23
 *   without. Its price: garbage collection runs on the isolate's own thread and is charged to the
 *   mod's time limit (a mod growing an array reaches 32 MB 7x slower and meets a 1 s limit
 *   first), and the memory reducer stops. So it is the operator's choice, off by default.
 * - `--random-seed`, `--hash-seed` (with `--predictable` only): it fixes V8's seeds (the same
 *   Math.random() in every process, and string hashes anyone could compute: hash flooding by
 *   crafted payload keys). Each launch draws its own: 63 bits for the hash seed (V8's own draw is
 *   64; Node refuses 2^63 and over), 31 for the random seed (an int in V8).
 */
export function sandboxNodeFlags(predictableGc: boolean): string[] {
  const flags = ["--no-node-snapshot", "--no-concurrent-recompilation"];
  if (!predictableGc) return flags;
  const hashSeed = randomBytes(8).readBigUInt64LE() >> 1n;
  return [...flags, "--predictable", `--random-seed=${randomInt(1, 2 ** 31 - 1)}`, `--hash-seed=${hashSeed === 0n ? 1n : hashSeed}`];
}

// Probe: what a time limit costs a synchronous isolated-vm call. 100 bare isolates, each called in
// turn with the same 10-event JSON text (parsed, one number written back), as modhost's and the
// naive loader's 100-mod ticks call them; modes in turn, 5 rounds, medians of CPU µs per call
// (this process, every thread: isolated-vm's timer thread included) and wall µs per call:
//
//   none      no timeout
//   plain     { timeout: 55 } (modhost's dispatch call at a 50 ms limit: the limit and its slice)
//   aligned   the same limit with its deadline put on the engine's grid (sandbox/cpu-budget.ts
//             alignedTimeoutMs: 4 ms for 55 ms, so a step's calls' deadlines fall within 1 ms)
//
// The modes run in a fixed order: plain's timers still pending (55 ms) at the start of aligned's
// round count against aligned, the conservative direction.
//
//   node --no-node-snapshot benchmarks/probes/call-timer-cost.js [callsPerIsolate=2000]
import { performance } from "node:perf_hooks";
import { importEngineModule } from "../lib/engine.js";
import { loadIsolatedVm } from "../lib/ivm.js";
import { percentile, round } from "../lib/stats.js";

const CALLS = Number(process.argv[2] ?? 2000);
const ISOLATES = 100;
const LIMIT_MS = 55;
const { alignedTimeoutMs } = await importEngineModule("sandbox/cpu-budget.js");
const ivm = loadIsolatedVm();

const text = JSON.stringify(Array.from({ length: 10 }, (_, i) => ["attack", { attacker: `e${i}`, target: `e${i + 1}`, power: 1.5 }]));
const isolates = [];
for (let i = 0; i < ISOLATES; i++) {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const context = isolate.createContextSync();
  const fn = isolate.compileScriptSync("(function (s) { return JSON.stringify(JSON.parse(s).length); })").runSync(context, { reference: true });
  isolates.push({ isolate, context, fn });
}

const MODES = {
  none: () => undefined,
  plain: () => ({ timeout: LIMIT_MS }),
  aligned: () => ({ timeout: alignedTimeoutMs(performance.now(), LIMIT_MS, Infinity) }),
};
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function measure(options) {
  const cpu0 = cpuUs();
  const wall0 = performance.now();
  for (let k = 0; k < CALLS; k++) for (const { fn } of isolates) fn.applySync(undefined, [text], options());
  const calls = CALLS * ISOLATES;
  return { cpu: (cpuUs() - cpu0) / calls, wall: ((performance.now() - wall0) * 1000) / calls };
}

const samples = Object.fromEntries(Object.keys(MODES).map((mode) => [mode, []]));
for (const mode of Object.keys(MODES)) measure(MODES[mode]); // warm-up
for (let round_ = 0; round_ < 5; round_++) for (const [mode, options] of Object.entries(MODES)) samples[mode].push(measure(options));
const out = { node: process.version, calls_per_isolate: CALLS, isolates: ISOLATES, unit: "µs per call, medians of 5 rounds" };
for (const [mode, runs] of Object.entries(samples)) {
  out[mode] = { cpu_us: round(percentile(runs.map((r) => r.cpu), 50), 3), wall_us: round(percentile(runs.map((r) => r.wall), 50), 3) };
}
for (const { fn, context, isolate } of isolates) {
  fn.release();
  context.release();
  isolate.dispose();
}
console.log(JSON.stringify(out));

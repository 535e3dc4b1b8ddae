// Runs every benchmark and prints one JSON object: { date, quick, machine, durationMs, metrics,
// samples, targets }. `metrics` is flat: `<key>` is a median and `<key>.p99` its 99th percentile
// (cold-start keys carry it in the name: `.p50_ms` / `.p99_ms`).
//
//   node --no-node-snapshot benchmarks/run.js [--quick] [--out <file>] [--only a,b]
//
// Default output file: benchmarks/results/latest.json. Progress goes to stderr.
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as coldStart from "./cold-start.js";
import * as eventCost from "./event-cost.js";
import * as idleMemory from "./idle-memory.js";
import { machineInfo } from "./lib/machine.js";
import { nowMs, round } from "./lib/stats.js";

const BENCHMARKS = [coldStart, eventCost, idleMemory];

/** The targets: metric key -> upper bound. */
const TARGETS = {
  "coldstart.cached10.p50_ms": 30,
  "coldstart.cached10.p50_ms_inline": 30,
  "event.single.inline_us": 5,
  "event.single.process_us": 60,
  "event.batched.ratio_native": 2,
  "memory.idle_mod_mb": 1,
};

const NOTES = {
  keys: "metrics[k] is the median over the samples counted in samples[k]; metrics[`${k}.p99`] is the 99th percentile (nearest-rank interpolation). Cold-start keys name it: .p50_ms / .p99_ms. Unsuffixed cold-start keys are process isolation.",
  eps: "event.batched.eps_*.p99 is the slow tail: the 1st percentile of events per second.",
  coldstart: "create() until the first event is answered by every mod. cached: a later create in the same process (compile cache, TypeScript and isolated-vm warm). uncached: the first create in a fresh node process, one per sample (import of modhost not included; see coldstart.import_ms_*). empty: a modsDir with no mods (the fixed cost, e.g. the sandbox process spawn).",
  events: "single: each emit awaited before the next. batched: 1000 emits, then await all; ns per event. noop: a handler that does nothing, tiny state. nocheckpoint: checkpointEvery set out of reach (default is a state export every 1000 events). native: the same handler as a plain function in this process. breakdown.ivm_call_*: one bare isolated-vm applySync running the same handler (engine options: timeout + arguments.copy; nocopy; notimeout; bare: neither). breakdown.ipc_roundtrip_us: one framed request/reply with an echo child using the sandbox's I/O pattern.",
  memory: "Least-squares slope of RSS over 1, 10, 50 idle mods. process: VmRSS of the sandbox process. inline: growth of the host process's RSS across create() (fresh child process per sample, except --quick).",
};

function parseArgs(argv) {
  const args = { quick: false, out: fileURLToPath(new URL("./results/latest.json", import.meta.url)), only: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") args.quick = true;
    else if (arg === "--out") args.out = resolve(argv[++i] ?? "");
    else if (arg.startsWith("--out=")) args.out = resolve(arg.slice(6));
    else if (arg === "--only") args.only = new Set((argv[++i] ?? "").split(","));
    else if (arg === "--help" || arg === "-h") {
      process.stderr.write("usage: node --no-node-snapshot benchmarks/run.js [--quick] [--out <file>] [--only cold-start,event-cost,idle-memory]\n");
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const started = nowMs();
const date = new Date().toISOString();
const loadavgStart = os.loadavg().map((x) => round(x, 3));
const metrics = {};
const samples = {};
const params = {};
const durationMs = {};
for (const bench of BENCHMARKS) {
  if (args.only && !args.only.has(bench.name)) continue;
  process.stderr.write(`[bench] ${bench.name}${args.quick ? " (quick)" : ""}...\n`);
  const t0 = nowMs();
  const out = await bench.run({ quick: args.quick });
  durationMs[bench.name] = Math.round(nowMs() - t0);
  Object.assign(metrics, out.metrics);
  Object.assign(samples, out.counts);
  Object.assign(params, out.params ?? {});
  process.stderr.write(`[bench] ${bench.name} done in ${durationMs[bench.name]} ms\n`);
}
durationMs.total = Math.round(nowMs() - started);

const targets = {};
for (const [key, bound] of Object.entries(TARGETS)) {
  if (key in metrics) targets[key] = { target: `< ${bound}`, value: metrics[key], met: metrics[key] < bound };
}

const result = {
  date,
  quick: args.quick,
  machine: { ...machineInfo(), loadavgStart, loadavgEnd: os.loadavg().map((x) => round(x, 3)) },
  durationMs,
  params,
  metrics,
  samples,
  targets,
  notes: NOTES,
};
const text = `${JSON.stringify(result, null, 2)}\n`;
await mkdir(dirname(args.out), { recursive: true });
await writeFile(args.out, text);
process.stdout.write(text);

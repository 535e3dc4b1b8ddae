// Runs every benchmark and prints one JSON object: { date, quick, machine, engine, durationMs,
// peers, params, metrics, samples, failures, targets, notes }. `metrics` is flat: `<key>` is a median and
// `<key>.p99` its 99th percentile (cold-start and swap keys carry it in the name: `.p50_ms` /
// `.p99_ms`). modhost's figures are unprefixed; each peer's are `<peer>.<key>` (see NOTES.peers).
//
//   node --no-node-snapshot benchmarks/run.js [--quick] [--out <file>] [--only a,b] [--peers a,b]
//
// Default output file: benchmarks/results/latest.json (--quick: benchmarks/results/quick.json).
// Progress goes to stderr. `node benchmarks/chart.js <results.json>` draws docs/benchmarks.svg and
// `node benchmarks/report.js <results.json>` publishes a run as --docs does (see report.js).
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { engineInfo, snapshotEngine } from "./lib/engine.js";
import { takeFailures } from "./lib/failures.js";
import { machineInfo } from "./lib/machine.js";
import { nowMs, round } from "./lib/stats.js";
import { LABELS, PEERS } from "./peers/index.js";
import { naiveRatios, publish } from "./report.js";

/** Benchmark modules in run order (imported after the engine snapshot: see lib/engine.js). */
const BENCHMARK_NAMES = ["cold-start", "event-cost", "swap", "scale", "tick", "pool", "idle-memory", "durability", "recovery", "load"];

/** Run after the others even in --quick (which runs the rest at once): load burns every core. */
const RUN_ALONE = new Set(["load"]);

/** The targets: metric key -> upper bound (a number), or { min } for a lower bound. */
const TARGETS = {
  "event.batched.inline_ns.ratio_naive": 1,
  "event.batched.process_ns.ratio_naive": 1.2,
  "swap.pause.p99_ms": 0.5,
  "swap.migrate10k.p50_ms.ratio_naive": 1,
  "swap.migrate10k.p50_ms_inline.ratio_naive": 1,
  "tick.ev10.eps_process.ratio_naive": { min: 1 },
  "tick.ev10.eps_inline.ratio_naive": { min: 1 },
  "tick.ev10.steady.eps_process.ratio_naive": { min: 1 },
  "tick.ev10.steady.eps_inline.ratio_naive": { min: 1 },
  "persist.tick.mods100.added_us_batch": 5,
  "load.process.sandbox_restarts": 1,
  "load.process.timeouts": 1,
  "load.inline.timeouts": 1,
  "coldstart.cached10.p50_ms": 30,
  "coldstart.cached10.p50_ms_inline": 30,
  "event.single.inline_us": 5,
  "event.single.process_us": 60,
  "event.batched.ratio_native": 2,
  "memory.idle_mod_mb": 1,
  "recovery.mods1.crash_to_answer_ms": 20,
  "recovery.mods100.crash_to_answer_ms": 150,
};

const NOTES = {
  keys: "metrics[k] is the median over the samples counted in samples[k]; metrics[`${k}.p99`] is the 99th percentile (nearest-rank interpolation). Cold-start keys name it: .p50_ms / .p99_ms. Unsuffixed cold-start keys are process isolation.",
  eps: "event.batched.eps_*.p99 is the slow tail: the 1st percentile of events per second.",
  coldstart: "create() until the first event is answered by every mod. cached: a later create in the same process (compile cache, TypeScript and isolated-vm warm). uncached: the first create in a fresh node process, one per sample (import of modhost not included; see coldstart.import_ms_*). diskcached: the same with options.cacheDir on a compile cache filled by an earlier process. empty: a modsDir with no mods (the fixed cost, e.g. the sandbox process spawn). Every modhost host in the benchmarks runs with typecheck \"off\": the peers do not type-check, and a first load's check costs a TypeScript worker (swap.e2e_typecheck shows what a check adds).",
  events: "single: each emit awaited before the next. batched: 1000 emits, then await all; ns per event. noop: a handler that does nothing, tiny state. nocheckpoint: checkpointEvery set out of reach (default is a state export every 1000 events). native: the same handler as a plain function in this process. breakdown.ivm_call_*: one bare isolated-vm applySync running the same handler (engine options: timeout + arguments.copy; nocopy; notimeout; bare: neither). breakdown.ipc_roundtrip_us: one framed request/reply with an echo child using the sandbox's I/O pattern.",
  swap: "swap.code<size>.pause / .total: events held / whole reload() (compile, diff, stage, commit), typecheck off, probation off. swap.pause = code10k. migrate10k: pause of a swap whose migrate() rewrites 10k entities. e2e: file save until the new revision answers an event (watch, debounce 10 ms). Peers: pause = state export until import done (no event can be served); total adds the transpile; e2e through fs.watch + the same debounce.",
  scale: "One fresh process per runner and sample; all configurations created in it and kept alive (RSS growth per creation; process isolation adds the sandbox process's whole RSS), then batches of events each answered by every mod. eps = events/s; .p99 of eps is the 1st percentile. ratio_native = native eps / eps.",
  peers: "Peers run the same mods with the same payloads: naive_ivm (a plain isolated-vm loader), quickjs (quickjs-emscripten), nodevm (node:vm, no security boundary), native (the mod as host code: the floor). <peer>.<key> mirrors modhost's <key>; ratio_native keys divide by the native floor measured in the same benchmark (p50 / native p50; .p99: p99 / native p50).",
  failures: "failures counts what went wrong without stopping the run (events answered ok: false, mods retried after failing to load, refused swaps), by runner and error code.",
  recovery: "recovery.mods<N>.crash_to_answer_ms: SIGKILL of the sandbox process until every one of N idle mods answered an event sent right after the kill (process isolation, warm spare ready and idle); .crash_to_answer_cpu_ms the CPU of that span (host + new sandbox process). benchmarks/recovery.js --before <engine dir> compares another build in the same run.",
  tick: "tick.ev<E>.*: ticks of E attacks (10, 1000), each answered by every one of 100 combat mods (100 entities each), every runner in one fresh process, ticks taking turns between runners; a full run does this in params[\"tick.processes\"] fresh processes and pools their samples (a tail then spans the spread between processes). eps = events/s (.p99: the 1st percentile); cpu_us = CPU time per mod-event (this process + the sandbox process(es)), the figure to compare on a loaded machine. emitmany.*: modhost through host.emitMany (only where the engine has it: params[\"tick.emitMany\"]); the others through an emit() loop. These follow a 1-tick warm-up, so they include V8 compiling optimized code in each of the 100 isolates; tick.ev10.steady.* (<peer>.tick.ev10.steady.*): the same 10-event figures after params[\"tick.steady_warm\"] more ticks per runner, when that compiling is done.",
  pool: "pool.mods<M>.{eps,cpu_us}_pool<N>: process isolation with N sandbox processes (sandboxProcesses; N = 1 and one per core, params[\"pool.sizes\"]) against the naive isolated-vm loader (pool.mods<M>.*_naive_ivm), M combat mods, 10-event ticks through host.emitMany after params[\"pool.warm\"] ticks each, ticks taking turns, in params[\"pool.processes\"] fresh processes holding only these runners, samples pooled (events/s .p99: the 1st percentile); .ratio_naive over the naive loader's median.",
  ratio_naive: "<key>.ratio_naive: a modhost figure over the naive isolated-vm loader's same figure from the same run (medians). events/s: above 1 is ahead of the naive loader; times, CPU and memory: below 1 is. Every modhost figure of the side-by-side table that has a naive counterpart has one (report.js naiveRatios); emitmany figures are over the naive loader's own batch (one call per mod per tick).",
  persist_tick: "persist.tick.mods<N>.{us,cpu_us}_<mode>: a 10-event tick through N combat mods (process isolation, emit loop) per mod-event, wall and CPU (this process + sandbox); mode memory = no stateDir, batch / fsync = durability with a stateDir; hosts side by side, ticks taking turns. added_*: minus memory's median.",
  load: "load.*: another process spins on every core while modhost (10 combat mods, default time limits) serves a 10-event tick every 10 ms for params[\"load.duration_ms\"] per isolation. sandbox_restarts and timeouts must be 0: a starved but healthy sandbox or mod must not be killed. load.burner_cores: CPU the burner got (cores) while the stream ran.",
  memory: "Least-squares slope of RSS over 1, 10, 50 idle mods. process: VmRSS of the sandbox process. inline: growth of the host process's RSS across create() (fresh child process per sample, except --quick). breakdown.bare_isolate_mb: RSS per bare isolated-vm isolate + context, the floor of one isolate per mod.",
};

function parseArgs(argv) {
  const args = { quick: false, out: undefined, only: undefined, peers: PEERS, snapshot: true, docs: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") args.quick = true;
    else if (arg === "--out") args.out = resolve(argv[++i] ?? "");
    else if (arg.startsWith("--out=")) args.out = resolve(arg.slice(6));
    else if (arg === "--only") args.only = new Set((argv[++i] ?? "").split(","));
    else if (arg === "--peers") args.peers = (argv[++i] ?? "").split(",").filter((p) => p !== "");
    else if (arg === "--no-snapshot") args.snapshot = false;
    else if (arg === "--docs") args.docs = true;
    else if (arg === "--help" || arg === "-h") {
      process.stderr.write(
        [
          `usage: node --no-node-snapshot benchmarks/run.js [--quick] [--out <file>] [--only ${BENCHMARK_NAMES.join(",")}] [--peers ${PEERS.join(",")}] [--no-snapshot] [--docs]`,
          "  --quick        smoke run (about a minute): tiny sizes, every benchmark at once; its figures mean nothing",
          "  --only         run only these benchmarks",
          "  --peers        compare with only these peers (default: all)",
          "  --no-snapshot  measure engine/dist in place instead of a copy taken at the start",
          "  --docs         after a full run, publish it as this Node major's run (docs/benchmarks-node<major>.json) and rewrite docs/benchmarks.svg and the tables of docs/benchmarks.md (a section per published Node) and README.md (newest Node)",
          "",
        ].join("\n"),
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (args.docs && args.quick) throw new Error("--docs publishes figures: not from a --quick run");
  for (const peer of args.peers) if (!PEERS.includes(peer)) throw new Error(`unknown peer ${peer} (known: ${PEERS.join(", ")})`);
  args.out ??= fileURLToPath(new URL(args.quick ? "./results/quick.json" : "./results/latest.json", import.meta.url));
  return args;
}

const args = parseArgs(process.argv.slice(2));
const started = nowMs();
const date = new Date().toISOString();
const loadavgStart = os.loadavg().map((x) => round(x, 3));
const metrics = {};
const samples = {};
const params = {};
const failures = {};
const durationMs = {};
for (const name of args.only ?? []) if (!BENCHMARK_NAMES.includes(name)) throw new Error(`unknown benchmark ${name} (known: ${BENCHMARK_NAMES.join(", ")})`);
const removeSnapshot = args.snapshot ? await snapshotEngine() : async () => {};
const engine = await engineInfo();
const selected = [];
for (const name of BENCHMARK_NAMES) if (!args.only || args.only.has(name)) selected.push(await import(`./${name}.js`));

/** Runs one benchmark and merges what it returns. */
async function runOne(bench) {
  process.stderr.write(`[bench] ${bench.name}${args.quick ? " (quick)" : ""}...\n`);
  const t0 = nowMs();
  const out = await bench.run({ quick: args.quick, peers: args.peers });
  durationMs[bench.name] = Math.round(nowMs() - t0);
  Object.assign(metrics, out.metrics);
  Object.assign(samples, out.counts);
  Object.assign(params, out.params ?? {});
  process.stderr.write(`[bench] ${bench.name} done in ${durationMs[bench.name]} ms\n`);
}

try {
  if (args.quick) {
    // A smoke run: every benchmark at once (their figures mean nothing; it checks that all run).
    await Promise.all(selected.filter((b) => !RUN_ALONE.has(b.name)).map(runOne));
    for (const bench of selected.filter((b) => RUN_ALONE.has(b.name))) await runOne(bench);
    Object.assign(failures, takeFailures());
  } else {
    for (const bench of selected) {
      await runOne(bench);
      for (const [kind, count] of Object.entries(takeFailures())) failures[`${bench.name}:${kind}`] = count;
    }
  }
} finally {
  await removeSnapshot();
}
durationMs.total = Math.round(nowMs() - started);

Object.assign(metrics, naiveRatios(metrics));

const targets = {};
for (const [key, bound] of Object.entries(TARGETS)) {
  if (!(key in metrics)) continue;
  targets[key] = typeof bound === "number" ? { target: `< ${bound}`, value: metrics[key], met: metrics[key] < bound } : { target: `> ${bound.min}`, value: metrics[key], met: metrics[key] > bound.min };
}

const result = {
  date,
  quick: args.quick,
  machine: { ...(await machineInfo()), loadavgStart, loadavgEnd: os.loadavg().map((x) => round(x, 3)) },
  engine,
  durationMs,
  peers: Object.fromEntries(args.peers.map((peer) => [peer, LABELS[peer]])),
  params,
  metrics,
  samples,
  failures,
  targets,
  notes: NOTES,
};
const text = `${JSON.stringify(result, null, 2)}\n`;
await mkdir(dirname(args.out), { recursive: true });
await writeFile(args.out, text);
process.stdout.write(text);

if (args.docs) process.stderr.write(`[bench] wrote ${publish(result).join(", ")}\n`);

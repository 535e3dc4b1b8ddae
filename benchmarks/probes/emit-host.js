// Probe: the host's per-event cost on issue 17's 1-mod target. One combat mod (10k entities),
// 1000-event batches sent the way event-cost.js's event.batched sends them (1000 `host.emit()`
// calls, then await all: "emit") or as one tick (`host.emitMany`: "many"), for one or more engine
// builds against the naive isolated-vm loader, all in one process, taking turns (the first runner
// rotates each round). CPU time of this process (every thread) per event, medians, and the ratio
// to the naive loader's median of the same run.
//
//   node --no-node-snapshot benchmarks/probes/emit-host.js [rounds] [emit,many] [isolations] [engineDir=label ...]
//
// `isolations` is a comma list of inline / process (default inline). Each engineDir is a copy of
// engine/ (package.json + dist/) inside the workspace (see hundred.js). EMIT_HOST_PROFILE=1 runs
// only the first engine and case, inline, for `--cpu-prof` (no naive runner, no turns).
// EMIT_HOST_ALLOC=1 adds, per runner, the bytes this process's heap allocated per event over 20
// batches after the rounds (V8's sampling heap profiler, counting objects already collected too):
// the host's garbage, which the isolate's own heap does not share.
// Prints one JSON object.
import { Session } from "node:inspector/promises";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "../lib/fixtures.js";
import { engineArgs } from "../lib/engine.js";
import { roundRobin } from "../lib/compare.js";
import { cpuNsOfWork } from "../lib/machine.js";
import { percentile, round } from "../lib/stats.js";
import { NaiveIvmLoader } from "../peers/naive-ivm.js";

const [roundsArg = "10", casesArg = "emit,many", isolationsArg = "inline", ...engineList] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const ENTITIES = 10_000;
const SIZE = 1000;
/** Batches per sample. */
const PER_SAMPLE = 5;
const PROFILE = process.env.EMIT_HOST_PROFILE === "1";
const ALLOC = process.env.EMIT_HOST_ALLOC === "1";

/** Bytes allocated on this process's heap per event over `batches` runs of `run`. */
async function allocatedPerEvent(run, batches) {
  const session = new Session();
  session.connect();
  try {
    await session.post("HeapProfiler.startSampling", { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    for (let b = 0; b < batches; b++) await run();
    const { profile } = await session.post("HeapProfiler.stopSampling");
    let bytes = 0;
    const walk = (node) => {
      bytes += node.selfSize;
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    return bytes / (batches * SIZE);
  } finally {
    session.disconnect();
  }
}

const engines = engineArgs(engineList);


function check(name, results) {
  if (results.length !== SIZE || results.some((rs) => rs.length !== 1 || !rs[0].ok)) {
    throw new Error(`${name}: ${JSON.stringify(results.find((rs) => rs.length !== 1 || !rs[0].ok))?.slice(0, 300)}`);
  }
}

const mods = modSet("combat", 1, () => combatMod(ENTITIES));
const dir = await makeModsDir(mods, { limits: COMBAT_LIMITS });
const payloads = attackPayloads(ENTITIES, SIZE);
const tick = payloads.map((payload) => ({ event: "attack", payload }));
const pairs = payloads.map((payload) => ["attack", payload]);
const out = { rounds: ROUNDS, unit: "CPU us per event (median), this process + sandbox processes" };
const closers = [];
try {
  const runners = [];
  for (const engine of PROFILE ? engines.slice(0, 1) : engines) {
    const { ModHost } = await import(engine.url);
    for (const isolation of PROFILE ? ["inline"] : isolationsArg.split(",")) {
      const host = await ModHost.create({ modsDir: dir.dir, isolation, typecheck: "off" });
      closers.push(() => host.close());
      for (const kind of PROFILE ? casesArg.split(",").slice(0, 1) : casesArg.split(",")) {
        const run = kind === "many" ? () => host.emitMany(tick) : () => Promise.all(payloads.map((p) => host.emit("attack", p)));
        runners.push({ name: `${engine.label}_${isolation}_${kind}`, host, run });
      }
    }
  }
  if (!PROFILE) {
    const naive = await NaiveIvmLoader.create(mods);
    closers.push(async () => naive.close());
    runners.push({ name: "naive_ivm", host: undefined, run: async () => naive.emitBatch(pairs) });
  }
  for (const runner of runners) for (let t = 0; t < 20; t++) check(runner.name, await runner.run());
  const samples = Object.fromEntries(runners.map((r) => [r.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    await roundRobin(runners, r, async (runner) => {
      const ns = await cpuNsOfWork(runner.host, async () => {
        for (let t = 0; t < PER_SAMPLE; t++) check(runner.name, await runner.run());
      });
      if (ns !== undefined) samples[runner.name].push(ns / 1000 / (PER_SAMPLE * SIZE));
    });
  }
  const naiveUs = PROFILE ? NaN : percentile(samples.naive_ivm, 50);
  for (const runner of runners) {
    const us = percentile(samples[runner.name], 50);
    out[runner.name] = { cpu_us: round(us, 4), ratio_naive: round(us / naiveUs, 3), n: samples[runner.name].length };
    if (ALLOC) out[runner.name].alloc_bytes = Math.round(await allocatedPerEvent(runner.run, 20));
  }
} finally {
  for (const close of closers) await close();
  await dir.cleanup();
}
console.log(JSON.stringify(out, null, 2));

// Probe: issue 17's two tick targets through the tick API (host.emitMany), inline and process,
// for one or more engine builds against the naive isolated-vm loader and the same loader writing a
// tick's JSON once for all mods (naive_ivm_shared, the floor of a one-thread inline loader), all in
// one process, taking turns (A B C ... with the first one rotating each round):
//
//   mods100   100 combat mods (100 entities each), 10-event ticks
//   mods1     1 combat mod (10k entities), 1000-event ticks
//
// Figures are CPU time per mod-event: this process (every thread, inline isolates included) plus
// the sandbox process(es) of a process host (/proc schedstat), medians over the rounds, and their
// ratio to the naive loader's median of the same run; and wall time per mod-event (wall_us) with
// events per second as a ratio to the naive loader's (eps_ratio, above 1 is ahead).
//
//   node --no-node-snapshot benchmarks/probes/hundred.js [rounds] [case,case] [engineDir=label ...]
//
// HUNDRED_ISOLATION=inline|process limits the run to one isolation. HUNDRED_WARM=<ticks> (default: one sample's worth) sets the warm-up ticks per runner before the
// first sample. With 100 isolates, each compiles its own optimized code for the prelude and the
// handler: a short warm-up measures that tier-up (background compiler threads) too, a long one
// (e.g. 400 ticks) the steady state.
//
// Each engineDir is a copy of engine/ (package.json + dist/) inside the workspace, e.g.
// `mkdir -p benchmarks/.engine/base && cp -r engine/package.json engine/dist benchmarks/.engine/base/`;
// without one, the workspace's modhost is measured as "modhost". Prints one JSON object.
import { performance } from "node:perf_hooks";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "../lib/fixtures.js";
import { engineArgs } from "../lib/engine.js";
import { roundRobin } from "../lib/compare.js";
import { cpuNsOfWork } from "../lib/machine.js";
import { percentile, round } from "../lib/stats.js";
import { NaiveIvmLoader, NaiveIvmSharedTextLoader } from "../peers/naive-ivm.js";

const [roundsArg = "5", casesArg = "mods100,mods1", ...engineList] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const CASES = {
  mods100: { mods: 100, entities: 100, size: 10, work: 20_000 },
  mods1: { mods: 1, entities: 10_000, size: 1000, work: 10_000 },
};

const engines = engineArgs(engineList);
/** HUNDRED_ISOLATION=inline (or process) measures one isolation only: half the runners, a shorter run. */
const ISOLATIONS = process.env.HUNDRED_ISOLATION ? [process.env.HUNDRED_ISOLATION] : ["inline", "process"];


async function measureCase(name, { mods: modCount, entities, size, work }, out) {
  const mods = modSet("combat", modCount, () => combatMod(entities));
  const dir = await makeModsDir(mods, { limits: COMBAT_LIMITS });
  const tick = attackPayloads(entities, size).map((payload) => ({ event: "attack", payload }));
  const pairs = tick.map(({ event, payload }) => [event, payload]);
  const ticksPerSample = Math.max(1, Math.floor(work / (modCount * size)));
  const runners = [];
  const closers = [];
  try {
    for (const engine of engines) {
      const { ModHost } = await import(engine.url);
      for (const isolation of ISOLATIONS) {
        const host = await ModHost.create({ modsDir: dir.dir, isolation });
        closers.push(() => host.close());
        runners.push({ name: `${engine.label}_${isolation}`, host, run: () => host.emitMany(tick) });
      }
    }
    const naive = await NaiveIvmLoader.create(mods);
    closers.push(async () => naive.close());
    runners.push({ name: "naive_ivm", host: undefined, run: async () => naive.emitBatch(pairs) });
    // The floor of a one-thread inline loader: the naive loader writing the tick's JSON once.
    const shared = await NaiveIvmSharedTextLoader.create(mods);
    closers.push(async () => shared.close());
    runners.push({ name: "naive_ivm_shared", host: undefined, run: async () => shared.emitBatch(pairs) });

    const warm = Number(process.env.HUNDRED_WARM ?? ticksPerSample);
    for (let k = 0; k < runners.length; k++) for (let t = 0; t < warm; t++) await runners[k].run();
    const samples = Object.fromEntries(runners.map((r) => [r.name, []]));
    const walls = Object.fromEntries(runners.map((r) => [r.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      await roundRobin(runners, r, async (runner) => {
        const startedAt = performance.now();
        const ns = await cpuNsOfWork(runner.host, async () => {
          for (let t = 0; t < ticksPerSample; t++) {
            const results = await runner.run();
            if (results.length !== size || results.some((rs) => rs.length !== modCount || rs.some((x) => !x.ok))) {
              throw new Error(`${runner.name}: ${JSON.stringify(results.find((rs) => rs.length !== modCount || rs.some((x) => !x.ok))).slice(0, 300)}`);
            }
          }
        });
        const modEvents = ticksPerSample * modCount * size;
        if (ns !== undefined) samples[runner.name].push(ns / 1000 / modEvents);
        walls[runner.name].push(((performance.now() - startedAt) * 1000) / modEvents);
      });
    }
    const naiveUs = percentile(samples.naive_ivm, 50);
    const naiveWall = percentile(walls.naive_ivm, 50);
    out[name] = Object.fromEntries(
      runners.map((r) => {
        const us = percentile(samples[r.name], 50);
        const wall = percentile(walls[r.name], 50);
        // eps_ratio: events per second against the naive loader's (above 1: ahead).
        return [r.name, { cpu_us: round(us, 4), ratio_naive: round(us / naiveUs, 3), wall_us: round(wall, 4), eps_ratio: round(naiveWall / wall, 3), n: samples[r.name].length }];
      }),
    );
    process.stderr.write(`${name} ${JSON.stringify(out[name])}\n`);
  } finally {
    for (const close of closers) await close();
    await dir.cleanup();
  }
}

const out = { rounds: ROUNDS, unit: "CPU us per mod-event (median), host + sandbox processes" };
for (const name of casesArg.split(",")) await measureCase(name, CASES[name], out);
console.log(JSON.stringify(out, null, 2));

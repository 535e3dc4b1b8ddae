// Pool: process isolation with a pool of sandbox processes (`sandboxProcesses`) against one, and
// the naive isolated-vm loader, in one fresh process with nothing else in it (the tick benchmark
// runs every runner side by side, and the others' isolates and heaps weigh on a pool host; a
// probe of this harness read the pool 1.04x the naive loader with only the two of them, 0.82x
// with an inline host beside them). Runners take turns (A B C A B C ...).
//
//   pool.mods100.eps_pool<N>, .cpu_us_pool<N>   events/s and CPU µs per mod-event (this process +
//                                               the sandbox processes), 100 combat mods (100
//                                               entities), 10-event ticks through host.emitMany,
//                                               after `warm` ticks each; N = 1 and one per core
//   pool.mods100.eps_naive_ivm, .cpu_us_naive_ivm   the naive loader (one call per mod per tick)
//   pool.mods100.eps_pool<N>.ratio_naive        eps over the naive loader's (above 1 is ahead);
//                                               .cpu_us_pool<N>.ratio_naive likewise (below 1 is)
//   pool.recovery.mods<M>.crash_to_answer_ms_pool<N>   SIGKILL of the first sandbox process until
//                                               every mod answered an event again (median)
//
//   node --no-node-snapshot benchmarks/run.js --only pool [--quick]
import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { COMBAT_LIMITS, attackPayloads, combatMod, idleMod, modSet } from "./lib/fixtures.js";
import { noteFailure, takeFailures } from "./lib/failures.js";
import { runChild } from "./lib/spawn.js";
import { percentile, record, round, sleep } from "./lib/stats.js";
import { createRunner } from "./peers/index.js";
import { measure, oneTick, participants } from "./tick.js";

export const name = "pool";

/** Pool sizes side by side: one sandbox process, and one per core (on 2+ cores). */
const POOLS = [...new Set([1, availableParallelism()])];
const hostOptions = (n) => ({ sandboxProcesses: n, typecheck: "off", probation: false });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[Math.floor(s.length / 2)];
};

function sizes(quick) {
  return quick
    ? { mods: 10, warm: 3, rounds: 3, minRounds: 2, budgetMs: 3000, crashes: 2, recoveryMods: [1, 10] }
    : { mods: 100, warm: 300, rounds: 40, minRounds: 5, budgetMs: 20_000, crashes: 5, recoveryMods: [1, 100] };
}

/** 10-event ticks through each pool size and the naive loader: samples per participant. */
async function throughput(s) {
  const set = modSet("combat", s.mods, () => combatMod(100));
  const live = {};
  try {
    for (const n of POOLS) live[`pool${n}`] = await createRunner("process", set, { limits: COMBAT_LIMITS, modhost: hostOptions(n) });
    live.naive_ivm = await createRunner("naive_ivm", set, { limits: COMBAT_LIMITS });
    // modhost through emitMany only (the tick API), the naive loader through its batch.
    const list = participants(live).filter((p) => p.id.endsWith(":many") || p.id === "naive_ivm");
    if (list.length !== POOLS.length + 1) throw new Error("pool.js needs an engine with host.emitMany");
    const events = attackPayloads(100, 10).map((p) => ["attack", p]);
    for (let i = 0; i < s.warm; i++) for (const p of list) await oneTick(p, events, s.mods);
    return await measure(list, events, s.mods, s.rounds, s.minRounds, s.budgetMs);
  } finally {
    for (const runner of Object.values(live)) await runner.close();
  }
}

/** Crash to every one of `count` idle mods answering, per pool size: medians (ms). */
async function recovery(count, crashes) {
  const set = modSet("idle", count, idleMod);
  const rigs = [];
  const ms = {};
  try {
    for (const n of POOLS) rigs.push({ key: `pool${n}`, runner: await createRunner("process", set, { modhost: hostOptions(n), kills: true }) });
    await sleep(5000); // the spare starts 1.5 s after create() and needs a boot
    for (let i = 0; i < crashes; i++) {
      for (const { key, runner } of rigs) {
        const host = runner.host;
        const t0 = performance.now();
        process.kill(host.sandboxPids[0], "SIGKILL");
        const results = await host.emit("probe", {});
        if (results.filter((r) => r.ok).length !== count) throw new Error(`${key}: not every mod answered after the crash`);
        (ms[key] ??= []).push(performance.now() - t0);
        await sleep(3500); // the next spare's boot
      }
    }
  } finally {
    for (const { runner } of rigs) await runner.close();
  }
  return Object.fromEntries(Object.entries(ms).map(([key, xs]) => [`pool.recovery.mods${count}.crash_to_answer_ms_${key}`, round(median(xs))]));
}

/** In a fresh process: throughput, then recovery. */
export async function child({ quick }) {
  const s = sizes(quick);
  const samples = await throughput(s);
  const recoveryMs = {};
  for (const count of s.recoveryMods) Object.assign(recoveryMs, await recovery(count, s.crashes));
  // From a child process (not --quick), its failure counts go back to the parent (see tick.js).
  return { samples, recoveryMs, failures: quick ? {} : takeFailures() };
}

export async function run({ quick }) {
  const s = sizes(quick);
  const result = quick ? await child({ quick }) : await runChild(name, { quick }, 600_000);
  for (const [kind, n] of Object.entries(result.failures)) for (let i = 0; i < n; i++) noteFailure(kind, "in the pool child process");
  const metrics = { ...result.recoveryMs };
  const counts = {};
  const base = `pool.mods${s.mods}`;
  for (const [id, { eps, cpuUs }] of Object.entries(result.samples)) {
    const who = id.split(":")[0];
    if (eps.length === 0) continue; // every tick lost to a restart: counted in failures
    record(metrics, `${base}.eps_${who}`, eps, counts);
    // For events/s the slow tail is the low end: ".p99" is the 1st percentile (as in tick.js).
    metrics[`${base}.eps_${who}.p99`] = round(percentile(eps, 1));
    record(metrics, `${base}.cpu_us_${who}`, cpuUs, counts);
  }
  for (const n of POOLS) {
    for (const what of ["eps", "cpu_us"]) {
      const mine = metrics[`${base}.${what}_pool${n}`];
      const naive = metrics[`${base}.${what}_naive_ivm`];
      if (mine !== undefined && naive) metrics[`${base}.${what}_pool${n}.ratio_naive`] = round(mine / naive, 3);
    }
  }
  return { metrics, counts, params: { "pool.sizes": POOLS, "pool.mods": s.mods, "pool.warm": s.warm } };
}

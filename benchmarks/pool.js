// Pool: process isolation with a pool of sandbox processes (`sandboxProcesses`) against one, and
// the naive isolated-vm loader, in fresh processes that hold only these runners (beside the tick
// benchmark's other runners, their heaps and isolates in the same process, a pool host read about
// half the events/s it read alone; finding 16). Runners take turns (A B C A B C ...).
//
//   pool.mods<M>.eps_pool<N>, .cpu_us_pool<N>   events/s and CPU µs per mod-event (this process +
//                                               the sandbox processes), M combat mods (100
//                                               entities), 10-event ticks through host.emitMany,
//                                               after `warm` ticks each; N = 1 and one per core
//   pool.mods<M>.eps_naive_ivm, .cpu_us_naive_ivm   the naive loader (one call per mod per tick)
//   pool.mods<M>.eps_pool<N>.ratio_naive        eps over the naive loader's (above 1 is ahead);
//                                               .cpu_us_pool<N>.ratio_naive likewise (below 1 is)
//
// For events/s ".p99" is the 1st percentile (the slow tail). A full run measures in `PROCESSES`
// fresh processes one after another and pools their samples, as tick.js does. Crash to answering
// is recovery.js's (one sandbox process); a pool's crash restores only the dead process's mods.
//
//   node --no-node-snapshot benchmarks/run.js --only pool [--quick]
import { availableParallelism } from "node:os";
import { COMBAT_LIMITS, attackPayloads, combatMod, modSet } from "./lib/fixtures.js";
import { takeFailures } from "./lib/failures.js";
import { runChild } from "./lib/spawn.js";
import { round } from "./lib/stats.js";
import { createRunner } from "./peers/index.js";
import { measure, mergeSamples, noteChildFailures, oneTick, participants, recordTicks } from "./tick.js";

export const name = "pool";

/** The most sandbox processes a host takes (engine/src/host/host-options.ts, MAX_SANDBOX_PROCESSES). */
const MAX_SANDBOX_PROCESSES = 64;
/** Pool sizes side by side: one sandbox process, and one per core (on 2+ cores). */
const POOLS = [...new Set([1, Math.min(availableParallelism(), MAX_SANDBOX_PROCESSES)])];
/** Fresh processes a full run measures in (see the header). */
const PROCESSES = 3;

function sizes(quick) {
  return quick ? { mods: 10, warm: 3, rounds: 3, minRounds: 2, budgetMs: 3000 } : { mods: 100, warm: 300, rounds: 40, minRounds: 5, budgetMs: 20_000 };
}

/** In a fresh process: 10-event ticks through each pool size and the naive loader, taking turns. */
export async function child({ quick }) {
  const s = sizes(quick);
  const set = modSet("combat", s.mods, () => combatMod(100));
  const live = {};
  let samples;
  try {
    for (const n of POOLS) live[`pool${n}`] = await createRunner("process", set, { limits: COMBAT_LIMITS, modhost: { sandboxProcesses: n, typecheck: "off", probation: false } });
    live.naive_ivm = await createRunner("naive_ivm", set, { limits: COMBAT_LIMITS });
    // modhost through emitMany only (the tick API), the naive loader through its batch.
    const list = participants(live).filter((p) => p.id.endsWith(":many") || p.id === "naive_ivm");
    if (list.length !== POOLS.length + 1) throw new Error("pool.js needs an engine with host.emitMany");
    const events = attackPayloads(100, 10).map((p) => ["attack", p]);
    for (let i = 0; i < s.warm; i++) for (const p of list) await oneTick(p, events, s.mods, name);
    samples = await measure(list, events, s.mods, s.rounds, s.minRounds, s.budgetMs, name);
  } finally {
    for (const runner of Object.values(live)) await runner.close();
  }
  // From a child process (not --quick), its failure counts go back to the parent (see tick.js).
  return { samples, failures: quick ? {} : takeFailures() };
}

export async function run({ quick }) {
  const s = sizes(quick);
  const results = [];
  if (quick) results.push(await child({ quick }));
  else for (let i = 0; i < PROCESSES; i++) results.push(await runChild(name, { quick }, 600_000));
  const samples = {};
  for (const r of results) {
    mergeSamples(samples, r.samples);
    noteChildFailures(r.failures, name);
  }
  const metrics = {};
  const counts = {};
  const base = `pool.mods${s.mods}`;
  recordTicks(metrics, counts, samples, (id, what) => `${base}.${what}_${id.split(":")[0]}`);
  for (const n of POOLS) {
    for (const what of ["eps", "cpu_us"]) {
      const mine = metrics[`${base}.${what}_pool${n}`];
      const naive = metrics[`${base}.${what}_naive_ivm`];
      if (mine !== undefined && naive) metrics[`${base}.${what}_pool${n}.ratio_naive`] = round(mine / naive, 3);
    }
  }
  return { metrics, counts, params: { "pool.sizes": POOLS, "pool.mods": s.mods, "pool.warm": s.warm, "pool.processes": results.length } };
}

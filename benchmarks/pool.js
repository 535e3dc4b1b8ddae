// Pool: a pool of sandbox processes (`sandboxProcesses`) against one, process isolation, same run.
//   pool.mods100.eps_pool<N>            events/s, 100 combat mods (100 entities), 10 events per tick
//   pool.mods100.eps_naive_ivm          the naive isolated-vm loader, same loop, same run
//   pool.mods100.ratio_naive_pool<N>    eps / naive eps
//   pool.recovery.mods<M>.crash_to_answer_ms_pool<N>   SIGKILL of the first sandbox process until
//                                       every mod answered an event again (median of the samples)
// Runners take turns (A B C A B C ...) so that the machine's load hits each alike; medians.
//   node --no-node-snapshot benchmarks/pool.js [--quick]
import { performance } from "node:perf_hooks";
import { COMBAT_LIMITS, attackPayloads, combatMod, idleMod, modSet } from "./lib/fixtures.js";
import { createRunner } from "./peers/index.js";
import { sleep, tick } from "./lib/stats.js";

const quick = process.argv.includes("--quick");
const POOLS = [1, 2];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[Math.floor(s.length / 2)];
};
const round = (x) => (x === undefined ? undefined : Math.round(x * 100) / 100);
const hostOptions = (n) => ({ sandboxProcesses: n, typecheck: "off", probation: false });

async function throughput() {
  const mods = quick ? 10 : 100;
  const perTick = 10;
  const ticks = quick ? 5 : 30;
  const set = modSet("combat", mods, () => combatMod(100));
  const runners = [];
  for (const n of POOLS) runners.push({ key: `pool${n}`, runner: await createRunner("process", set, { limits: COMBAT_LIMITS, modhost: hostOptions(n) }) });
  runners.push({ key: "naive_ivm", runner: await createRunner("naive_ivm", set, { limits: COMBAT_LIMITS }) });
  const eps = Object.fromEntries(runners.map((r) => [r.key, []]));
  try {
    await sleep(3000);
    const events = attackPayloads(100, perTick).map((p) => ["attack", p]);
    for (let rep = 0; rep < (quick ? 2 : 7); rep++) {
      for (const { key, runner } of runners) {
        for (let w = 0; w < 2; w++) await runner.emitBatch(events);
        const t0 = performance.now();
        for (let t = 0; t < ticks; t++) {
          let all = runner.emitBatch(events);
          if (all instanceof Promise) all = await all;
          for (const results of all) if (results.length !== mods || results.some((r) => !r.ok)) throw new Error(`${key}: a tick was not answered ok by every mod`);
          await tick();
        }
        eps[key].push((ticks * perTick * 1000) / (performance.now() - t0));
      }
    }
  } finally {
    for (const { runner } of runners) await runner.close();
  }
  const out = {};
  const naive = median(eps.naive_ivm);
  for (const [key, xs] of Object.entries(eps)) {
    out[`mods${mods}.eps_${key}`] = round(median(xs));
    if (key !== "naive_ivm") out[`mods${mods}.ratio_naive_${key}`] = round(median(xs) / naive);
  }
  return out;
}

async function recovery(count) {
  const set = modSet("idle", count, idleMod);
  const rigs = [];
  for (const n of POOLS) rigs.push({ key: `pool${n}`, runner: await createRunner("process", set, { modhost: hostOptions(n) }) });
  const ms = Object.fromEntries(rigs.map((r) => [r.key, []]));
  try {
    await sleep(5000); // the spare starts 1.5 s after create() and needs a boot
    for (let i = 0; i < (quick ? 2 : 5); i++) {
      for (const { key, runner } of rigs) {
        const host = runner.host;
        const t0 = performance.now();
        process.kill(host.sandboxPids[0], "SIGKILL");
        const results = await host.emit("probe", {});
        if (results.filter((r) => r.ok).length !== count) throw new Error(`${key}: not every mod answered after the crash`);
        ms[key].push(performance.now() - t0);
        await sleep(3500);
      }
    }
  } finally {
    for (const { runner } of rigs) await runner.close();
  }
  return Object.fromEntries(Object.entries(ms).map(([key, xs]) => [`recovery.mods${count}.crash_to_answer_ms_${key}`, round(median(xs))]));
}

const out = { ...(await throughput()) };
for (const count of quick ? [1, 10] : [1, 100]) Object.assign(out, await recovery(count));
console.log(JSON.stringify({ pool: out, params: { quick, pools: POOLS } }, null, 2));

// Durability costs, with a stateDir on this machine's disk:
//   persist.checkpoint10k_ms       exporting + writing a checkpoint of a 10k-entity combat state
//   persist.journal.eps_<mode>     events/s through a mod with the journal on (1000-event batches)
//   persist.journal.added_us_<mode> added latency of one awaited emit vs. no stateDir
//   persist.recovery_ms_<n>        ModHost.create() until the state is back, with n journaled events
//   persist.tick.mods<N>.us_<mode> / .cpu_us_<mode>   a game tick (10 attacks, each answered by N
//                                  combat mods; emit loop) per mod-event: wall time / CPU time of
//                                  this process + the sandbox process; <mode>: memory (no stateDir),
//                                  batch, fsync (durability). Hosts side by side, ticks taking turns.
//   persist.tick.mods<N>.added_us_<mode> / .added_cpu_us_<mode>   the same minus memory's (medians)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "./lib/fixtures.js";
import { createHost, noteFailure, noteFailedResult } from "./lib/failures.js";
import { cpuNsOfAll, sandboxPidsOf, selfCpuNs } from "./lib/machine.js";
import { nowMs, percentile, record, round } from "./lib/stats.js";
import { loadModhost } from "./lib/engine.js";

const { ModHost } = await loadModhost();

export const name = "durability";

async function withState(fn) {
  const dir = await mkdtemp(join(tmpdir(), "modhost-bench-state-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function checkpointCost(entities, reps) {
  const mods = await makeModsDir({ combat: combatMod(entities) }, { limits: COMBAT_LIMITS });
  try {
    return await withState(async (stateDir) => {
      // A checkpoint at every chance (checkpointIntervalMs): a large state's periodic ones otherwise
      // wait for 20x their cost of event time, more than this measurement runs.
      const host = await ModHost.create({ modsDir: mods.dir, stateDir, isolation: "process", typecheck: "off", checkpointEvery: 100, checkpointIntervalMs: 1 });
      try {
        const payloads = attackPayloads(entities, 100);
        for (let r = 0; r < reps; r++) await Promise.all(payloads.map((p) => host.emit("attack", p)));
        const m = host.metrics().mods.combat;
        return { ms: m.checkpointMsTotal / Math.max(1, m.checkpoints), bytes: m.checkpointBytesLast, count: m.checkpoints };
      } finally {
        await host.close();
      }
    });
  } finally {
    await mods.cleanup();
  }
}

async function journalThroughput(durability, batches, singles) {
  const mods = await makeModsDir({ combat: combatMod(100) }, { limits: COMBAT_LIMITS });
  try {
    return await withState(async (stateDir) => {
      const host = await ModHost.create({ modsDir: mods.dir, ...(durability ? { stateDir, durability } : {}), isolation: "process", typecheck: "off", checkpointEvery: 1_000_000 });
      try {
        const payloads = attackPayloads(100, 1000);
        await Promise.all(payloads.map((p) => host.emit("attack", p))); // warm up
        const t0 = nowMs();
        for (let b = 0; b < batches; b++) await Promise.all(payloads.map((p) => host.emit("attack", p)));
        const eps = (batches * payloads.length) / ((nowMs() - t0) / 1000);
        const latencies = [];
        for (let i = 0; i < singles; i++) {
          const s = nowMs();
          await host.emit("attack", payloads[i % payloads.length]);
          latencies.push((nowMs() - s) * 1000);
        }
        return { eps, latencyUs: percentile(latencies, 50), latencyP99Us: percentile(latencies, 99) };
      } finally {
        await host.close();
      }
    });
  } finally {
    await mods.cleanup();
  }
}

async function recoveryTime(events) {
  const mods = await makeModsDir({ combat: combatMod(1000) }, { limits: COMBAT_LIMITS });
  try {
    return await withState(async (stateDir) => {
      const writer = await ModHost.create({ modsDir: mods.dir, stateDir, durability: "none", isolation: "process", typecheck: "off", checkpointEvery: 10_000_000 });
      const payloads = attackPayloads(1000, 1000);
      for (let done = 0; done < events; done += payloads.length) await Promise.all(payloads.map((p) => writer.emit("attack", p)));
      await writer.close();
      const t0 = nowMs();
      const reader = await ModHost.create({ modsDir: mods.dir, stateDir, isolation: "process", typecheck: "off", checkpointEvery: 10_000_000 });
      await reader.state("combat");
      const ms = nowMs() - t0;
      await reader.close();
      return ms;
    });
  } finally {
    await mods.cleanup();
  }
}

/** The journal modes the tick figures compare: no stateDir, then each durability with one. */
const TICK_MODES = ["memory", "batch", "fsync"];

/**
 * Per mod-event cost of a 10-event tick through `modCount` combat mods, for every TICK_MODES
 * host (created side by side, ticks taking turns, rotating). Returns { <mode>: { us, cpuUs } }.
 */
async function journalTicks(modCount, quick) {
  const events = 10;
  const rounds = quick ? 2 : 40;
  const budgetMs = quick ? 2000 : 12_000; // fsync at 100 mods waits on the disk: bounded by time
  const rigs = [];
  try {
    for (const mode of TICK_MODES) {
      const mods = await makeModsDir(modSet("combat", modCount, () => combatMod(100)), { limits: COMBAT_LIMITS });
      const rig = { mode, mods, stateDir: undefined, host: undefined, us: [], cpuUs: [] };
      rigs.push(rig);
      if (mode !== "memory") rig.stateDir = await mkdtemp(join(tmpdir(), "modhost-bench-state-"));
      const persist = rig.stateDir === undefined ? {} : { stateDir: rig.stateDir, durability: mode };
      rig.host = await createHost(ModHost, { modsDir: mods.dir, ...persist, isolation: "process", typecheck: "off", checkpointEvery: 1_000_000 });
    }
    const payloads = attackPayloads(100, events);
    const tickOnce = async (rig) => {
      const pids = sandboxPidsOf(rig.host);
      const sandbox0 = cpuNsOfAll(pids);
      const cpu0 = selfCpuNs();
      const t0 = nowMs();
      const all = await Promise.all(payloads.map((p) => rig.host.emit("attack", p)));
      const ms = nowMs() - t0;
      const cpu = selfCpuNs() - cpu0;
      const sandbox1 = cpuNsOfAll(pids);
      for (const results of all) for (const r of results) if (!r.ok) noteFailedResult(`persist:${rig.mode}`, r);
      if (sandbox0 === undefined || sandbox1 === undefined || sandboxPidsOf(rig.host).join(",") !== pids.join(",")) {
        noteFailure(`persist:${rig.mode}:sandbox_replaced`, pids);
        return undefined;
      }
      return { us: (ms * 1000) / (events * modCount), cpuUs: (cpu + sandbox1 - sandbox0) / 1000 / (events * modCount) };
    };
    for (const rig of rigs) await tickOnce(rig); // warm
    const started = nowMs();
    for (let round = 0; round < rounds; round++) {
      if (round >= 3 && nowMs() - started > budgetMs) break;
      for (let k = 0; k < rigs.length; k++) {
        const rig = rigs[(round + k) % rigs.length];
        const r = await tickOnce(rig);
        if (r === undefined) continue;
        rig.us.push(r.us);
        rig.cpuUs.push(r.cpuUs);
      }
    }
    return Object.fromEntries(rigs.map((rig) => [rig.mode, { us: rig.us, cpuUs: rig.cpuUs }]));
  } finally {
    for (const rig of rigs) {
      await rig.host?.close();
      await rig.mods.cleanup();
      if (rig.stateDir !== undefined) await rm(rig.stateDir, { recursive: true, force: true });
    }
  }
}

/** The tick figures of journalTicks() as persist.tick.* metrics (see the header). */
function putJournalTicks(metrics, counts, label, byMode) {
  const base = `persist.tick.mods${label}`;
  const memory = byMode.memory;
  for (const mode of TICK_MODES) {
    const { us, cpuUs } = byMode[mode];
    if (us.length === 0) continue; // every tick lost to a restart: counted in failures
    record(metrics, `${base}.us_${mode}`, us, counts);
    record(metrics, `${base}.cpu_us_${mode}`, cpuUs, counts);
    if (mode !== "memory" && memory.us.length > 0) {
      metrics[`${base}.added_us_${mode}`] = round(percentile(us, 50) - percentile(memory.us, 50));
      metrics[`${base}.added_cpu_us_${mode}`] = round(percentile(cpuUs, 50) - percentile(memory.cpuUs, 50));
    }
  }
}

export async function run({ quick }) {
  const metrics = {};
  const counts = {};
  const entities = quick ? 500 : 10_000;
  const cp = await checkpointCost(entities, quick ? 2 : 10);
  metrics["persist.checkpoint10k_ms"] = round(cp.ms);
  metrics["persist.checkpoint10k_bytes"] = cp.bytes;
  counts["persist.checkpoint10k_ms"] = cp.count;
  const base = await journalThroughput(undefined, quick ? 1 : 10, quick ? 20 : 300);
  metrics["persist.journal.eps_memory"] = round(base.eps);
  metrics["persist.journal.single_us_memory"] = round(base.latencyUs);
  for (const durability of ["fsync", "batch", "none"]) {
    const r = await journalThroughput(durability, quick ? 1 : 10, quick ? 20 : 300);
    metrics[`persist.journal.eps_${durability}`] = round(r.eps);
    metrics[`persist.journal.single_us_${durability}`] = round(r.latencyUs);
    metrics[`persist.journal.single_us_${durability}.p99`] = round(r.latencyP99Us);
    metrics[`persist.journal.added_us_${durability}`] = round(r.latencyUs - base.latencyUs);
  }
  for (const n of quick ? [1000] : [1000, 10_000, 50_000]) metrics[`persist.recovery_ms_${n}`] = round(await recoveryTime(n));
  // label: the N of the keys; count: mods loaded (--quick loads fewer under the same labels).
  const tickMods = quick ? [{ label: 1, count: 1 }, { label: 100, count: 3 }] : [{ label: 1, count: 1 }, { label: 100, count: 100 }];
  for (const { label, count } of tickMods) putJournalTicks(metrics, counts, label, await journalTicks(count, quick));
  return { metrics, counts, params: { "persist.entities": entities, "persist.tick.mods": tickMods.map((m) => `mods${m.label}:${m.count}`).join(","), "persist.tick.events": 10 } };
}

// Durability costs, with a stateDir on this machine's disk:
//   persist.checkpoint10k_ms       exporting + writing a checkpoint of a 10k-entity combat state
//   persist.journal.eps_<mode>     events/s through a mod with the journal on (1000-event batches)
//   persist.journal.added_us_<mode> added latency of one awaited emit vs. no stateDir
//   persist.recovery_ms_<n>        ModHost.create() until the state is back, with n journaled events
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir } from "./lib/fixtures.js";
import { nowMs, percentile, round } from "./lib/stats.js";
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
      const host = await ModHost.create({ modsDir: mods.dir, stateDir, isolation: "process", checkpointEvery: 100 });
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
      const host = await ModHost.create({ modsDir: mods.dir, ...(durability ? { stateDir, durability } : {}), isolation: "process", checkpointEvery: 1_000_000 });
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
      const writer = await ModHost.create({ modsDir: mods.dir, stateDir, durability: "none", isolation: "process", checkpointEvery: 10_000_000 });
      const payloads = attackPayloads(1000, 1000);
      for (let done = 0; done < events; done += payloads.length) await Promise.all(payloads.map((p) => writer.emit("attack", p)));
      await writer.close();
      const t0 = nowMs();
      const reader = await ModHost.create({ modsDir: mods.dir, stateDir, isolation: "process", checkpointEvery: 10_000_000 });
      await reader.state("combat");
      const ms = nowMs() - t0;
      await reader.close();
      return ms;
    });
  } finally {
    await mods.cleanup();
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
  return { metrics, counts, params: { "persist.entities": entities } };
}

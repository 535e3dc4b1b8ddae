// Cold start: ModHost.create() until the first event is answered by every mod, for 1 and 10 mods,
// inline and process isolation. "cached": a later create in the same process (the compile cache
// is an in-process LRU, and TypeScript and isolated-vm are already loaded). "uncached": the first
// create in a fresh node process (one child process per sample).
import { performance } from "node:perf_hooks";
import { makeModsDir, modSet, smallMod } from "./lib/fixtures.js";
import { runChild } from "./lib/spawn.js";
import { recordValue, round, summarize, tick } from "./lib/stats.js";

export const name = "cold-start";

const ISOLATIONS = ["process", "inline"];

function sizes(quick) {
  return quick ? { cached: 1, uncached: 1 } : { cached: 15, uncached: 6 };
}

/** One timed start: create, first event answered by all `expected` mods. Closes the host untimed. */
async function timedStart(ModHost, modsDir, isolation, expected) {
  const t0 = performance.now();
  const host = await ModHost.create({ modsDir, isolation });
  const t1 = performance.now();
  let t2 = t1;
  try {
    if (expected > 0) {
      const results = await host.emit("tick", { dt: 16 });
      t2 = performance.now();
      if (results.length !== expected || results.some((r) => !r.ok)) throw new Error(`first event: ${JSON.stringify(results).slice(0, 500)}`);
    }
  } finally {
    await host.close();
  }
  return { createMs: t1 - t0, totalMs: t2 - t0 };
}

/** In a fresh process: import modhost, then one timed start. */
export async function child({ modsDir, isolation, expected }) {
  const t0 = performance.now();
  const { ModHost } = await import("modhost");
  const importMs = performance.now() - t0;
  const start = await timedStart(ModHost, modsDir, isolation, expected);
  return { importMs, ...start };
}

/** Writes `<prefix>.p50_ms<suffix>` and `<prefix>.p99_ms<suffix>`. */
function put(metrics, counts, prefix, suffix, samples) {
  const s = summarize(samples);
  metrics[`${prefix}.p50_ms${suffix}`] = round(s.median);
  metrics[`${prefix}.p99_ms${suffix}`] = round(s.p99);
  counts[`${prefix}${suffix}`] = s.n;
  return s;
}

export async function run({ quick }) {
  const { ModHost } = await import("modhost");
  const n = sizes(quick);
  const metrics = {};
  const counts = {};
  const dirs = {
    10: await makeModsDir(modSet("score", 10, smallMod)),
    // Same main.ts text as score00: the compile cache (keyed by path and text) serves it too.
    1: await makeModsDir(modSet("solo", 1, smallMod)),
    0: await makeModsDir({}),
  };
  try {
    // Uncached first, in fresh processes (this process's cache does not matter to them), the two
    // isolations taking turns. --quick runs its one sample of each side by side, to save time.
    const uncachedSamples = { process: [], inline: [] };
    const sample = async (isolation) => uncachedSamples[isolation].push(await runChild(name, { modsDir: dirs[10].dir, isolation, expected: 10 }));
    for (let i = 0; i < n.uncached; i++) {
      if (quick) await Promise.all(ISOLATIONS.map(sample));
      else for (const isolation of ISOLATIONS) await sample(isolation);
    }
    for (const isolation of ISOLATIONS) {
      const samples = uncachedSamples[isolation];
      const s = put(metrics, counts, "coldstart.uncached10", `_${isolation}`, samples.map((x) => x.totalMs));
      if (isolation === "process") {
        metrics["coldstart.uncached10.p50_ms"] = round(s.median);
        metrics["coldstart.uncached10.p99_ms"] = round(s.p99);
      }
      const imports = summarize(samples.map((x) => x.importMs));
      recordValue(metrics, `coldstart.import_ms_${isolation}`, imports.median, imports.p99);
    }

    // Cached: prime this process (TypeScript, isolated-vm, compile cache), then measure.
    for (const isolation of ISOLATIONS) {
      await timedStart(ModHost, dirs[10].dir, isolation, 10);
      for (const count of [10, 1, 0]) {
        const samples = [];
        for (let i = 0; i < n.cached; i++) {
          await tick();
          samples.push((await timedStart(ModHost, dirs[count].dir, isolation, count)).totalMs);
        }
        const label = count === 0 ? "coldstart.empty" : `coldstart.cached${count}`;
        const s = put(metrics, counts, label, `_${isolation}`, samples);
        if (isolation === "process") {
          metrics[`${label}.p50_ms`] = round(s.median);
          metrics[`${label}.p99_ms`] = round(s.p99);
        }
      }
      // Marginal cost of one more mod (cached), from the 1- and 10-mod medians.
      const perMod = (metrics[`coldstart.cached10.p50_ms_${isolation}`] - metrics[`coldstart.cached1.p50_ms_${isolation}`]) / 9;
      recordValue(metrics, `coldstart.per_mod_ms_${isolation}`, perMod);
    }
  } finally {
    for (const dir of Object.values(dirs)) await dir.cleanup();
  }
  return { metrics, counts };
}

// Recovery: crash of the sandbox process until every mod answers again, at 1, 10 and 100 mods
// (process isolation, small idle mods, no stateDir). One sample: SIGKILL the sandbox process, emit
// an event every mod handles at once (it is in flight when the crash is noticed, as in a real
// crash), and time until every mod has answered it ok. Between samples the host settles (a new
// spare process starts in the background).
//
//   recovery.mods<N>.crash_to_answer_ms          median (and .p99) over the samples
//
// Standalone, it can compare two builds in the same run, samples taking turns:
//   node --no-node-snapshot benchmarks/recovery.js [--quick] [--before <engine dir>]
// where <engine dir> holds package.json and dist/ of another build (e.g. main's), whose figures
// are printed under `before.` keys, with `ratio_before` = after / before.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { join, resolve } from "node:path";
import { loadModhost } from "./lib/engine.js";
import { createHost, noteFailure, takeFailures } from "./lib/failures.js";
import { idleMod, makeModsDir, modSet } from "./lib/fixtures.js";
import { record, round, sleep } from "./lib/stats.js";

export const name = "recovery";

const MOD_COUNTS = [1, 10, 100];

/** One host over `count` idle mods, warmed (every mod answered once). */
async function startHost(ModHost, count) {
  const mods = await makeModsDir(modSet("idle", count, idleMod));
  const host = await createHost(ModHost, { modsDir: mods.dir, isolation: "process", typecheck: "off", probation: false });
  await probeAll(host, count);
  return {
    host,
    close: async () => {
      await host.close();
      await mods.cleanup();
    },
  };
}

/** Emits `probe` and checks that all `count` mods answered it ok. */
async function probeAll(host, count) {
  const results = await host.emit("probe", {});
  const ok = results.filter((r) => r.ok).length;
  if (ok !== count) {
    const bad = results.find((r) => !r.ok);
    noteFailure(`recovery:${bad?.error?.code ?? "missing"}`, `${ok}/${count} answered ok`);
  }
  return ok === count;
}

/** SIGKILL the sandbox process, then time until every mod answers an event again (ms). */
async function crashToAnswer(rig, count) {
  const pid = rig.host.sandboxPid;
  const t0 = performance.now();
  process.kill(pid, "SIGKILL");
  const ok = await probeAll(rig.host, count);
  const ms = performance.now() - t0;
  return ok ? ms : undefined;
}

/** Samples for each mod count, one sample per engine in turn. `engines`: [{ key, ModHost }]. */
async function measure(engines, quick) {
  const samples = quick ? 2 : 7;
  // A new spare starts 1 s after one was taken and needs Node's boot (0.5-2 s on a loaded machine)
  // and its isolates: a shorter pause measures a cold restart instead.
  const settleMs = 3000;
  const out = {};
  for (const count of MOD_COUNTS) {
    const rigs = [];
    try {
      for (const engine of engines) rigs.push({ engine, rig: await startHost(engine.ModHost, count) });
      for (const { engine } of rigs) out[`${engine.key}mods${count}`] = [];
      await sleep(settleMs + 2000); // the first spare (where there is one) starts 1.5 s after create()
      for (let i = 0; i < samples; i++) {
        for (const { engine, rig } of rigs) {
          const ms = await crashToAnswer(rig, count);
          if (ms !== undefined) out[`${engine.key}mods${count}`].push(ms);
          await sleep(settleMs);
        }
      }
    } finally {
      await Promise.all(rigs.map(({ rig }) => rig.close()));
    }
  }
  return out;
}

function toMetrics(samples, engines) {
  const metrics = {};
  const counts = {};
  for (const count of MOD_COUNTS) {
    for (const { key } of engines) {
      const s = samples[`${key}mods${count}`] ?? [];
      if (s.length > 0) record(metrics, `${key}recovery.mods${count}.crash_to_answer_ms`, s, counts);
    }
  }
  return { metrics, counts };
}

/** As a module of benchmarks/run.js: the engine under test only. */
export async function run({ quick }) {
  const { ModHost } = await loadModhost();
  const engines = [{ key: "", ModHost }];
  const { metrics, counts } = toMetrics(await measure(engines, quick), engines);
  return { metrics, counts, params: { "recovery.mods": MOD_COUNTS } };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const argv = process.argv.slice(2);
  const quick = argv.includes("--quick");
  const beforeAt = argv.indexOf("--before");
  const engines = [{ key: "", ModHost: (await loadModhost()).ModHost }];
  if (beforeAt >= 0) {
    const dir = resolve(argv[beforeAt + 1] ?? "");
    const { ModHost } = await import(pathToFileURL(join(dir, "dist", "index.js")).href);
    engines.push({ key: "before.", ModHost });
  }
  const started = performance.now();
  const { metrics, counts } = toMetrics(await measure(engines, quick), engines);
  if (beforeAt >= 0) {
    for (const count of MOD_COUNTS) {
      const after = metrics[`recovery.mods${count}.crash_to_answer_ms`];
      const before = metrics[`before.recovery.mods${count}.crash_to_answer_ms`];
      if (after !== undefined && before !== undefined) metrics[`recovery.mods${count}.ratio_before`] = round(after / before);
    }
  }
  const output = { date: new Date().toISOString(), quick, durationMs: round(performance.now() - started), metrics, counts, failures: takeFailures() };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
}

// Recovery: crash of the sandbox process until every mod answers again, at 1, 10 and 100 mods
// (process isolation, small idle mods, no stateDir). One sample: SIGKILL the sandbox process, emit
// an event every mod handles at once (it is in flight when the crash is noticed, as in a real
// crash), and time until every mod has answered it ok. Between samples the host settles (a new
// spare process starts in the background).
//
//   recovery.mods<N>.crash_to_answer_ms          median (and .p99) over the samples
//   recovery.mods<N>.crash_to_answer_cpu_ms      CPU of the same span: the host's (process.cpuUsage)
//                                                plus the new live sandbox process's (its threads'
//                                                schedstat), the figure a loaded machine distorts least
//   recovery.mods<N>.{host,sandbox}_cpu_ms       the two parts
// Before each sample the spare sandbox process is left to finish its warm-up (its CPU stops
// growing), so a sample measures a warm takeover, not a spare still loading.
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
import { cpuNsOf, sandboxPidsOf, selfCpuNs } from "./lib/machine.js";
import { readFileSync, readdirSync } from "node:fs";

export const name = "recovery";

const MOD_COUNTS = [1, 10, 100];

/** One host over `count` idle mods, warmed (every mod answered once). */
async function startHost(ModHost, count) {
  const mods = await makeModsDir(modSet("idle", count, idleMod));
  const host = await createHost(ModHost, { modsDir: mods.dir, isolation: "process", typecheck: "off", probation: false }, { kills: true });
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
    noteFailure(`recovery:${bad?.error?.code ?? "missing"}`, `${ok}/${count} answered ok; the first not: ${JSON.stringify(bad)}`);
  }
  return ok === count;
}

/** This process's child processes (Linux; [] elsewhere). */
function childPids() {
  const pids = [];
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${process.pid}/task`);
  } catch {
    return pids; // no /proc: no spare to wait for
  }
  for (const task of tasks) {
    try {
      pids.push(...readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // the thread ended in between
    }
  }
  return pids;
}

/** Waits (at most 60 s) until no child process but the live sandbox processes uses CPU: the spares are warm. */
async function sparesIdle(live) {
  for (let waited = 0; waited < 60_000; waited += 500) {
    const others = childPids().filter((p) => !live.has(p));
    const before = others.map((p) => cpuNsOf(p) ?? 0);
    await sleep(500);
    if (others.every((p, i) => (cpuNsOf(p) ?? 0) - before[i] < 5e6)) return;
  }
}

/** SIGKILL the sandbox process, then time until every mod answers an event again: { ms, cpuMs, hostCpuMs, sandboxCpuMs }. */
async function crashToAnswer(rig, count, live) {
  await sparesIdle(live);
  const pid = rig.host.sandboxPid;
  const others = new Map(childPids().filter((p) => p !== pid).map((p) => [p, cpuNsOf(p) ?? 0]));
  const host0 = selfCpuNs();
  const t0 = performance.now();
  process.kill(pid, "SIGKILL");
  const ok = await probeAll(rig.host, count);
  const ms = performance.now() - t0;
  const hostCpuMs = (selfCpuNs() - host0) / 1e6;
  // The new live process: the spare that took over (its CPU since the kill), or a cold start (all of it).
  const next = rig.host.sandboxPid;
  const sandboxCpuMs = next === undefined ? 0 : ((cpuNsOf(next) ?? 0) - (others.get(next) ?? 0)) / 1e6;
  return ok ? { ms, cpuMs: hostCpuMs + sandboxCpuMs, hostCpuMs, sandboxCpuMs } : undefined;
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
      const live = () => new Set(rigs.flatMap(({ rig }) => sandboxPidsOf(rig.host)));
      await sleep(settleMs + 2000); // the first spare (where there is one) starts 1.5 s after create()
      for (let i = 0; i < samples; i++) {
        for (const { engine, rig } of rigs) {
          const sample = await crashToAnswer(rig, count, live());
          if (sample !== undefined) out[`${engine.key}mods${count}`].push(sample);
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
      if (s.length === 0) continue;
      record(metrics, `${key}recovery.mods${count}.crash_to_answer_ms`, s.map((x) => x.ms), counts);
      record(metrics, `${key}recovery.mods${count}.crash_to_answer_cpu_ms`, s.map((x) => x.cpuMs), counts);
      record(metrics, `${key}recovery.mods${count}.host_cpu_ms`, s.map((x) => x.hostCpuMs), counts);
      record(metrics, `${key}recovery.mods${count}.sandbox_cpu_ms`, s.map((x) => x.sandboxCpuMs), counts);
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
      for (const [figure, suffix] of [["crash_to_answer_ms", ""], ["crash_to_answer_cpu_ms", "_cpu"]]) {
        const after = metrics[`recovery.mods${count}.${figure}`];
        const before = metrics[`before.recovery.mods${count}.${figure}`];
        if (after !== undefined && before !== undefined) metrics[`recovery.mods${count}.ratio_before${suffix}`] = round(after / before);
      }
    }
  }
  const output = { date: new Date().toISOString(), quick, durationMs: round(performance.now() - started), metrics, counts, failures: takeFailures() };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
}

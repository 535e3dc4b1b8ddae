// Scale: throughput and memory as the number of mods grows (1, 10, 100 combat mods with 100
// entities each) and as one mod's state grows (100, 1k, 10k entities), for every runner.
//
// One fresh process per runner and sample (runners taking turns). In it, a twin runner loading
// one mod of each source pays for the libraries and compiles; then one runner per configuration is
// created, all kept alive, reading RSS growth across each creation (process isolation: plus the
// whole RSS of that host's sandbox process, as that is what it costs); then each configuration's
// throughput: batches of `events` emits (1000 / mods, at least 10) each answered by every mod.
//
//   scale.mods<N>.eps_<isolation> / <peer>.scale.mods<N>.eps       events/s, each answered by N mods
//   scale.mods<N>.rss_mb_<isolation> / <peer>.scale.mods<N>.rss_mb  memory the N mods added (MB)
//   scale.state<S>.eps_* / .rss_mb_*                                  the same for 1 mod, S entities
//   *.ratio_native                                                    native eps / eps (cost ratio), same run
import { performance } from "node:perf_hooks";
import { putRatio } from "./lib/compare.js";
import { noteFailedResult } from "./lib/failures.js";
import { COMBAT_LIMITS, attackPayloads, combatMod, modSet } from "./lib/fixtures.js";
import { rssMbOf } from "./lib/machine.js";
import { runChild } from "./lib/spawn.js";
import { percentile, record, round, sleep, tick } from "./lib/stats.js";
import { PEERS, createRunner } from "./peers/index.js";

export const name = "scale";

/** Configurations: label, mod count, entities per mod. */
function configs(quick) {
  // --quick: a smoke test, smaller (the JSON's params.scale.configs says what ran).
  return quick
    ? [
        { label: "mods1", mods: 1, entities: 50 },
        { label: "mods10", mods: 3, entities: 50 },
        { label: "mods100", mods: 6, entities: 20 },
        { label: "state1k", mods: 1, entities: 200 },
        { label: "state10k", mods: 1, entities: 500 },
      ]
    : [
        { label: "mods1", mods: 1, entities: 100 },
        { label: "mods10", mods: 10, entities: 100 },
        { label: "mods100", mods: 100, entities: 100 },
        { label: "state1k", mods: 1, entities: 1000 },
        { label: "state10k", mods: 1, entities: 10_000 },
      ];
}

function sizes(quick) {
  return quick ? { reps: 1, batches: 1, warm: 1, settleMs: 10 } : { reps: 3, batches: 12, warm: 3, settleMs: 200 };
}

/** `count` copies of the combat mod with `entities` each (one source text: one compile). */
const combatSet = (count, entities) => modSet("combat", count, () => combatMod(entities));

/** One batch of `events` attacks: ns per event (every mod answers each). */
async function batch(runner, runnerName, events, expected) {
  const t0 = performance.now();
  let all = runner.emitBatch(events);
  if (all instanceof Promise) all = await all;
  const ms = performance.now() - t0;
  for (const results of all) {
    if (results.length !== expected) throw new Error(`${runnerName}: ${results.length} results, not ${expected}`);
    for (const r of results) if (!r.ok) noteFailedResult(runnerName, r);
  }
  return ms;
}

/** In a fresh process: every configuration for one runner (see the header). */
export async function child({ runner: runnerName, quick, settleMs }) {
  const s = sizes(quick);
  const list = configs(quick);
  const options = { limits: COMBAT_LIMITS };
  const twin = await createRunner(runnerName, Object.fromEntries([...new Set(list.map((c) => c.entities))].map((n) => [`twin${n}`, combatMod(n)])), options);
  const live = [twin];
  const out = {};
  try {
    await sleep(settleMs);
    for (const config of list) {
      const before = process.memoryUsage().rss;
      const runner = await createRunner(runnerName, combatSet(config.mods, config.entities), options);
      live.push(runner);
      await sleep(settleMs);
      const hostMb = (process.memoryUsage().rss - before) / 2 ** 20;
      const sandboxMb = runner.host?.sandboxPid !== undefined ? rssMbOf(runner.host.sandboxPid) : 0;
      out[config.label] = { runner, rssMb: hostMb + sandboxMb, hostMb, sandboxMb };
    }
    for (const config of list) {
      const { runner } = out[config.label];
      const count = Math.max(10, Math.round(1000 / config.mods));
      const events = attackPayloads(config.entities, count).map((p) => ["attack", p]);
      for (let i = 0; i < s.warm; i++) await batch(runner, runnerName, events, config.mods);
      const ms = [];
      for (let i = 0; i < s.batches; i++) {
        ms.push(await batch(runner, runnerName, events, config.mods));
        await tick();
      }
      out[config.label] = { rssMb: out[config.label].rssMb, eps: ms.map((x) => (count * 1000) / x) };
    }
  } finally {
    for (const runner of live) await runner.close();
  }
  return out;
}

/** `<peer>.scale.<label>.<what>` or `scale.<label>.<what>_<isolation>`. */
function key(runner, label, what) {
  return runner === "process" || runner === "inline" ? `scale.${label}.${what}_${runner}` : `${runner}.scale.${label}.${what}`;
}

export async function run({ quick, peers = PEERS }) {
  const s = sizes(quick);
  const runners = ["process", "inline", ...peers];
  const list = configs(quick);
  const metrics = {};
  const counts = {};
  const samples = Object.fromEntries(runners.map((r) => [r, Object.fromEntries(list.map((c) => [c.label, { rss: [], eps: [] }]))]));
  for (let rep = 0; rep < s.reps; rep++) {
    const one = async (runner) => {
      // --quick: in this process (its memory figures then mean nothing; it only smoke-tests).
      const params = { runner, quick, settleMs: s.settleMs };
      const result = quick ? await child(params) : await runChild(name, params, 240_000);
      for (const config of list) {
        samples[runner][config.label].rss.push(result[config.label].rssMb);
        samples[runner][config.label].eps.push(...result[config.label].eps);
      }
    };
    // Runners take turns, the starting one rotating.
    for (let k = 0; k < runners.length; k++) await one(runners[(rep + k) % runners.length]);
  }
  const eps = {};
  for (const runner of runners) {
    for (const config of list) {
      const { rss, eps: e } = samples[runner][config.label];
      record(metrics, key(runner, config.label, "rss_mb"), rss, counts);
      const k = key(runner, config.label, "eps");
      record(metrics, k, e, counts);
      // For events/s the slow tail is the low end: ".p99" is the 1st percentile.
      metrics[`${k}.p99`] = round(percentile(e, 1));
      (eps[runner] ??= {})[config.label] = { p50: percentile(e, 50), p1: percentile(e, 1) };
    }
  }
  if (eps.native) {
    for (const runner of runners) {
      for (const config of list) {
        const mine = eps[runner][config.label];
        const floor = eps.native[config.label].p50;
        // Cost ratio: native events/s over this runner's (p99: over its 1st-percentile events/s).
        putRatio(metrics, key(runner, config.label, "ratio_native"), { p50: floor / mine.p50, p99: floor / mine.p1 }, 1);
      }
    }
  }
  return { metrics, counts, params: { "scale.configs": list.map((c) => `${c.label}:${c.mods}x${c.entities}`).join(","), "scale.reps": s.reps, "scale.peers": peers.join(",") } };
}

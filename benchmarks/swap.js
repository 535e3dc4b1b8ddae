// Hot swap costs: pause and end-to-end for a code-only change, and a shape-changing migration,
// with a combat state of 100 and 10k entities, in both isolation modes, and the peers' nearest
// equivalent (benchmarks/peers/: export the state as JSON, new sandbox with the new code, import;
// native: evaluate the new code and hand the state object over).
//
//   swap.pause.p50_ms / .p99_ms      events held for a code-only swap (10k entities, process)
//   swap.e2e.p50_ms                  file save -> first event answered by the new version (watch, typecheck off)
//   swap.e2e_typecheck.p50_ms        the same with typecheck "block"
//   swap.migrate10k.p50_ms           pause of a swap whose migrate() rewrites all 10k entities
//   swap.migrate100.p50_ms           the same with 100 entities
//   swap.e2e10k.p50_ms               save -> first answer, with 10k entities
//   <peer>.swap.*                    the same figures for a peer (no type check: no e2e_typecheck)
//   *.ratio_native                   p50 (and .p99: p99) over the native floor's p50, same run
//
// A modhost swap's pause is its report's pauseMs (events held); a peer's is the time from the
// state export to the import done (it serves nothing in between); both after compiling.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { putMs, putRatio } from "./lib/compare.js";
import { createHost, noteFailure } from "./lib/failures.js";
import { COMBAT_LIMITS, combatMod, makeModsDir } from "./lib/fixtures.js";
import { nowMs, tick } from "./lib/stats.js";
import { PEERS, createRunner } from "./peers/index.js";
import { watchMod } from "./peers/watch.js";
import { loadModhost } from "./lib/engine.js";

const { ModHost } = await loadModhost();

export const name = "swap";

/** The combat mod with a revision marker in its result (a code-only change per revision). */
export function revision(entities, rev) {
  return combatMod(entities).replace("return { target: t.id, damage, crit, hp: t.hp, killed };", `return { target: t.id, damage, crit, hp: t.hp, killed, rev: ${rev} };`);
}

/** A revision whose Entity has a `level` field or not: each flip is a shape change with a migrate. */
export function shapeRevision(entities, rev) {
  const withLevel = rev % 2 === 1;
  let src = revision(entities, rev);
  if (withLevel) {
    src = src.replace("kills: number; deaths: number };", "kills: number; deaths: number; level: number };");
    src = src.replace("crit: 0.1 + (i % 4) * 0.05, kills: 0, deaths: 0 };", "crit: 0.1 + (i % 4) * 0.05, kills: 0, deaths: 0, level: 1 };");
  }
  const migrate = withLevel
    ? `migrate(old) { const o = old as { entities: Record<string, Entity>; rounds: number }; const entities: Record<string, Entity> = {}; for (const id in o.entities) entities[id] = { ...(o.entities[id] as Entity), level: 1 }; return { entities, rounds: o.rounds }; },`
    : `migrate(old) { const o = old as { entities: Record<string, Entity & { level?: number }>; rounds: number }; const entities: Record<string, Entity> = {}; for (const id in o.entities) { const { level, ...rest } = o.entities[id] as Entity & { level?: number }; void level; entities[id] = rest; } return { entities, rounds: o.rounds }; },`;
  return src.replace("  on: {", `  ${migrate}\n  on: {`);
}

const attack = { attacker: "e1", target: "e2", power: 1 };
const MODHOST = { typecheck: "off", probation: false };

/** A runner's emit, awaited if it answers with a promise. */
async function emit(runner, event, payload) {
  const out = runner.emit(event, payload);
  return out instanceof Promise ? await out : out;
}

/** Label of a runner entry for failures and keys: "process", "inline", a peer, or "nodevm.samectx". */
const label = (entry) => (entry.mode ? `${entry.runner}.${entry.mode}` : entry.runner);

/**
 * Swaps every runner to revision 1..reps of `source(entities, rev)`, taking turns each revision;
 * after each swap one event must be answered by the new code. Returns pause and total samples per
 * runner. A refused modhost swap is counted as a failure and left out.
 */
async function swapRounds(entries, entities, reps, source) {
  const samples = new Map();
  const live = [];
  try {
    for (const entry of entries) {
      live.push({ entry, runner: await createRunner(entry.runner, { combat: source(entities, 0) }, { modhost: MODHOST, limits: COMBAT_LIMITS }) });
      samples.set(label(entry), { pauses: [], totals: [] });
    }
    for (let rev = 1; rev <= reps; rev++) {
      for (let k = 0; k < live.length; k++) {
        const { entry, runner } = live[(rev + k) % live.length];
        const into = samples.get(label(entry));
        let report;
        try {
          report = await runner.swap("combat", source(entities, rev), entry.mode ? { mode: entry.mode } : undefined);
        } catch (err) {
          noteFailure(`${label(entry)}:swap`, err.message, 20);
          continue;
        }
        into.pauses.push(report.pauseMs);
        into.totals.push(report.totalMs);
        const [result] = await emit(runner, "attack", attack);
        if (result?.value?.rev !== rev) noteFailure(`${label(entry)}:swap:stale`, result, 20);
        await tick();
      }
    }
  } finally {
    for (const { runner } of live) await runner.close();
  }
  return samples;
}

/** Save -> first event answered by the new revision, through a file watcher (modhost's, or watchMod for a peer). */
async function endToEnd(runnerName, entities, reps, typecheck) {
  const refused = new Set();
  const mods = await makeModsDir({ combat: revision(entities, 0) }, { limits: COMBAT_LIMITS });
  let runner;
  let watcher;
  if (runnerName === "process" || runnerName === "inline") {
    runner = await createHost(ModHost, { modsDir: mods.dir, isolation: runnerName, typecheck, watch: true, probation: false });
    runner.on("swap", (report) => {
      if (report.ok) return;
      refused.add(report.to);
      noteFailure(`${runnerName}:e2e:${report.error?.code ?? report.kind}`, report.error?.message ?? report, 20);
    });
  } else {
    runner = await createRunner(runnerName, { combat: revision(entities, 0) });
    watcher = watchMod(runner, mods.dir, "combat", {
      onError: (err) => {
        refused.add(err.message);
        noteFailure(`${runnerName}:e2e:swap-threw`, err.message, 20);
      },
    });
  }
  const samples = [];
  try {
    // Until `reps` samples, at most 2 * reps saves: a refused swap (counted by the listener above)
    // or one that never answers is left out.
    // Three saves in a row that never answer end this runner's samples.
    let silent = 0;
    for (let rev = 1; samples.length < reps && rev <= 2 * reps && silent < 3; rev++) {
      const saved = nowMs();
      refused.clear();
      await writeFile(join(mods.dir, "combat", "main.ts"), revision(entities, rev));
      let answered = false;
      while (nowMs() - saved < 5000 && refused.size === 0) {
        const [result] = await emit(runner, "attack", attack);
        if (result?.value?.rev === rev) {
          answered = true;
          break;
        }
        await tick();
      }
      if (answered) samples.push(nowMs() - saved);
      else if (refused.size === 0) noteFailure(`${runnerName}:e2e:unanswered`, `revision ${rev}`, 20);
      silent = answered || refused.size > 0 ? 0 : silent + 1;
    }
  } finally {
    watcher?.close();
    await runner.close();
    await mods.cleanup();
  }
  return samples;
}


/** The key prefix and suffix of a runner: modhost's are unprefixed with "" (process) or "_inline". */
function keyParts(runner) {
  if (runner === "process") return { prefix: "", suffix: "" };
  if (runner === "inline") return { prefix: "", suffix: "_inline" };
  return { prefix: `${runner}.`, suffix: "" };
}

export async function run({ quick, peers = PEERS }) {
  // Samples kept per runner (after WARMUP swaps left out). --quick: a smoke test.
  const WARMUP = quick ? 1 : 3;
  const reps = (quick ? 1 : 30) + WARMUP;
  const migrateReps = (quick ? 1 : 10) + WARMUP;
  const e2eReps = (quick ? 1 : 15) + WARMUP;
  const big = quick ? 200 : 10_000;
  const metrics = {};
  const counts = {};
  const runners = ["process", "inline", ...peers];
  const entries = runners.map((runner) => ({ runner }));
  if (peers.includes("nodevm")) entries.push({ runner: "nodevm", mode: "samectx" });
  const figures = {};
  const keep = (samples) => (samples.length > WARMUP ? samples.slice(WARMUP) : samples);

  for (const [size, entities] of [["100", 100], ["10k", big]]) {
    const samples = await swapRounds(size === "10k" ? entries : entries.filter((e) => !e.mode), entities, reps, revision);
    for (const [runner, { pauses, totals }] of samples) {
      if (runner === "nodevm.samectx") {
        figures[runner] = { pause: putMs(metrics, counts, "nodevm.swap.samectx.pause", "", keep(pauses)) };
        continue;
      }
      const { prefix, suffix } = keyParts(runner);
      const pause = putMs(metrics, counts, `${prefix}swap.code${size}.pause`, suffix, keep(pauses));
      putMs(metrics, counts, `${prefix}swap.code${size}.total`, suffix, keep(totals));
      if (size === "10k") (figures[runner] ??= {}).pause = pause;
    }
  }
  for (const [size, entities] of [["100", 100], ["10k", big]]) {
    const migrations = await swapRounds(entries.filter((e) => !e.mode), entities, migrateReps, shapeRevision);
    for (const [runner, { pauses }] of migrations) {
      const { prefix, suffix } = keyParts(runner);
      const figure = putMs(metrics, counts, `${prefix}swap.migrate${size}`, suffix, keep(pauses));
      if (size === "10k") figures[runner].migrate = figure;
    }
  }
  for (const runner of runners) {
    const { prefix, suffix } = keyParts(runner);
    figures[runner].e2e = putMs(metrics, counts, `${prefix}swap.e2e`, suffix, keep(await endToEnd(runner, 100, e2eReps, "off")));
    putMs(metrics, counts, `${prefix}swap.e2e10k`, suffix, keep(await endToEnd(runner, big, e2eReps, "off")));
    if (runner === "process" || runner === "inline") putMs(metrics, counts, "swap.e2e_typecheck", suffix, keep(await endToEnd(runner, 100, e2eReps, "block")));
  }

  // The headline keys the issue names: 10k entities, process isolation (and inline); each peer's.
  for (const runner of runners) {
    const { prefix, suffix } = keyParts(runner);
    for (const p of ["p50", "p99"]) {
      const value = metrics[`${prefix}swap.code10k.pause.${p}_ms${suffix}`];
      if (value !== undefined) metrics[`${prefix}swap.pause.${p}_ms${suffix}`] = value;
    }
  }

  // Ratios to the native floor (its pause is a reference handover: microseconds).
  const native = figures.native;
  if (native) {
    for (const runner of runners) {
      const { prefix, suffix } = keyParts(runner);
      putRatio(metrics, `${prefix}swap.pause.ratio_native${suffix}`, figures[runner].pause, native.pause.p50);
      putRatio(metrics, `${prefix}swap.migrate10k.ratio_native${suffix}`, figures[runner].migrate, native.migrate.p50);
      putRatio(metrics, `${prefix}swap.e2e.ratio_native${suffix}`, figures[runner].e2e, native.e2e.p50);
    }
    if (figures["nodevm.samectx"]) putRatio(metrics, "nodevm.swap.samectx.pause.ratio_native", figures["nodevm.samectx"].pause, native.pause.p50);
  }
  return { metrics, counts, params: { "swap.entities": big, "swap.reps": reps, "swap.peers": peers.join(",") } };
}

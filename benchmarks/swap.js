// Hot swap costs: pause and end-to-end for a code-only change, and a shape-changing migration,
// with a combat state of 100 and 10k entities, in both isolation modes.
//
//   swap.pause.p50_ms / .p99_ms      events held for a code-only swap (10k entities, process)
//   swap.e2e.p50_ms                  file save -> first event answered by the new version (watch, typecheck off)
//   swap.e2e_typecheck.p50_ms        the same with typecheck "block"
//   swap.migrate10k.p50_ms           pause of a swap whose migrate() rewrites all 10k entities
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModHost } from "modhost";
import { combatMod, makeModsDir } from "./lib/fixtures.js";
import { nowMs, percentile, round, tick } from "./lib/stats.js";

export const name = "swap";

/** The combat mod with a revision marker in its result (a code-only change per revision). */
function revision(entities, rev) {
  return combatMod(entities).replace("return { target: t.id, damage, crit, hp: t.hp, killed };", `return { target: t.id, damage, crit, hp: t.hp, killed, rev: ${rev} };`);
}

/** A revision whose Entity has a `level` field or not: each flip is a shape change with a migrate. */
function shapeRevision(entities, rev) {
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

async function codeSwaps(isolation, entities, reps) {
  const mods = await makeModsDir({ combat: revision(entities, 0) });
  const host = await ModHost.create({ modsDir: mods.dir, isolation, typecheck: "off", probation: false });
  const pauses = [];
  const totals = [];
  try {
    for (let rev = 1; rev <= reps; rev++) {
      await writeFile(join(mods.dir, "combat", "main.ts"), revision(entities, rev));
      const report = await host.reload("combat");
      if (!report.ok) throw new Error(`swap failed: ${JSON.stringify(report.error)}`);
      pauses.push(report.pauseMs);
      totals.push(report.totalMs);
      await host.emit("attack", attack);
    }
  } finally {
    await host.close();
    await mods.cleanup();
  }
  return { pauses, totals };
}

async function migrations(isolation, entities, reps) {
  const mods = await makeModsDir({ combat: shapeRevision(entities, 0) });
  const host = await ModHost.create({ modsDir: mods.dir, isolation, typecheck: "off", probation: false });
  const pauses = [];
  try {
    for (let rev = 1; rev <= reps; rev++) {
      await writeFile(join(mods.dir, "combat", "main.ts"), shapeRevision(entities, rev));
      const report = await host.reload("combat");
      if (!report.ok) throw new Error(`migration failed: ${JSON.stringify(report.error)}`);
      pauses.push(report.pauseMs);
    }
  } finally {
    await host.close();
    await mods.cleanup();
  }
  return pauses;
}

/** Save -> first event answered by the new revision, through the file watcher. */
async function endToEnd(isolation, entities, reps, typecheck) {
  const mods = await makeModsDir({ combat: revision(entities, 0) });
  const host = await ModHost.create({ modsDir: mods.dir, isolation, typecheck, watch: true, probation: false });
  const samples = [];
  try {
    for (let rev = 1; rev <= reps; rev++) {
      const saved = nowMs();
      await writeFile(join(mods.dir, "combat", "main.ts"), revision(entities, rev));
      for (;;) {
        const [result] = await host.emit("attack", attack);
        if (result?.value?.rev === rev) break;
        if (nowMs() - saved > 10_000) throw new Error("the new revision never answered");
        await tick();
      }
      samples.push(nowMs() - saved);
    }
  } finally {
    await host.close();
    await mods.cleanup();
  }
  return samples;
}

/** `${base}.p50_ms${suffix}` and `${base}.p99_ms${suffix}`. */
function put(metrics, counts, base, suffix, samples) {
  metrics[`${base}.p50_ms${suffix}`] = round(percentile(samples, 50));
  metrics[`${base}.p99_ms${suffix}`] = round(percentile(samples, 99));
  counts[`${base}${suffix}`] = samples.length;
}

const WARMUP = 3;

export async function run({ quick }) {
  const reps = (quick ? 3 : 30) + WARMUP;
  const big = quick ? 200 : 10_000;
  const metrics = {};
  const counts = {};
  for (const isolation of ["process", "inline"]) {
    const suffix = isolation === "process" ? "" : "_inline";
    for (const [label, entities] of [["100", 100], ["10k", big]]) {
      const { pauses, totals } = await codeSwaps(isolation, entities, reps);
      put(metrics, counts, `swap.code${label}.pause`, suffix, pauses.slice(WARMUP));
      put(metrics, counts, `swap.code${label}.total`, suffix, totals.slice(WARMUP));
    }
    put(metrics, counts, "swap.migrate10k", suffix, (await migrations(isolation, big, (quick ? 2 : 10) + WARMUP)).slice(WARMUP));
    put(metrics, counts, "swap.e2e", suffix, (await endToEnd(isolation, 100, (quick ? 2 : 15) + WARMUP, "off")).slice(WARMUP));
    put(metrics, counts, "swap.e2e_typecheck", suffix, (await endToEnd(isolation, 100, (quick ? 2 : 15) + WARMUP, "block")).slice(WARMUP));
  }
  // The headline keys the issue names: 10k entities, process isolation.
  metrics["swap.pause.p50_ms"] = metrics["swap.code10k.pause.p50_ms"];
  metrics["swap.pause.p99_ms"] = metrics["swap.code10k.pause.p99_ms"];
  metrics["swap.e2e.p50_ms"] ??= Number.NaN;
  return { metrics, counts, params: { "swap.entities": big, "swap.reps": reps } };
}

// Probe: what process isolation costs over the naive isolated-vm loader, in CPU, for one mod with
// 10k entities: 1000-event batches (host + sandbox CPU per event), shape-changing migrations
// (CPU per swap and pause) and code-only swaps (pause p50/p99). Run it against two engine builds
// in turns (MODHOST_BENCH_ENGINE=<dir with package.json and dist>) to compare them.
//
//   node --no-node-snapshot benchmarks/probes/process-costs.js [batches] [migrations] [swaps] [--inline]
//
// Prints one JSON line: ns per event (host, sandbox, total, naive, ratio to naive), migrate CPU ms
// per swap (host, sandbox) with median pause, code-swap pause p50/p99.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadModhost } from "../lib/engine.js";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir } from "../lib/fixtures.js";
import { cpuNsOf, selfCpuNs } from "../lib/machine.js";
import { percentile } from "../lib/stats.js";
import { createRunner } from "../peers/index.js";
import { revision, shapeRevision } from "../swap.js";

const [batches = "20", migrations = "8", swaps = "60"] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const ENTITIES = 10_000;
const SIZE = 1000;
const { ModHost } = await loadModhost();
const payloads = attackPayloads(ENTITIES, SIZE);
const median = (xs) => percentile(xs, 50);
const cpu = (host) => ({ pid: host.sandboxPid, self: selfCpuNs(), sandbox: host.sandboxPid === undefined ? 0 : cpuNsOf(host.sandboxPid) });

/** ns of CPU per event of 1000-event batches: host and sandbox medians. */
async function batched(host) {
  const h = [];
  const s = [];
  for (let r = 0; r < Number(batches); r++) {
    const a = cpu(host);
    const pending = [];
    for (let i = 0; i < SIZE; i++) pending.push(host.emit("attack", payloads[i]));
    const all = await Promise.all(pending);
    const b = cpu(host);
    if (!all.every((x) => x[0]?.ok)) throw new Error("a batched event failed");
    if (a.pid !== b.pid) continue;
    if (r >= 2) h.push((b.self - a.self) / SIZE), s.push((b.sandbox - a.sandbox) / SIZE);
  }
  return { host: median(h), sandbox: median(s) };
}

/** The naive loader's CPU per event on the same batches (one process). */
async function naive() {
  const loader = await createRunner("naive_ivm", { combat: combatMod(ENTITIES) }, { limits: COMBAT_LIMITS });
  try {
    const xs = [];
    const batch = payloads.map((p) => ["attack", p]);
    for (let r = 0; r < Number(batches); r++) {
      const a = selfCpuNs();
      loader.emitBatch(batch);
      if (r >= 2) xs.push((selfCpuNs() - a) / SIZE);
    }
    return median(xs);
  } finally {
    await loader.close();
  }
}

async function swapRounds(host, dir, source, count, first) {
  const pauses = [];
  const h = [];
  const s = [];
  for (let rev = first; rev < first + count; rev++) {
    await writeFile(join(dir, "combat", "main.ts"), source(ENTITIES, rev));
    const a = cpu(host);
    const report = await host.reload("combat");
    const b = cpu(host);
    if (!report.ok) throw new Error(`swap ${rev} failed: ${JSON.stringify(report.error)}`);
    await host.emit("attack", payloads[rev % SIZE]);
    pauses.push(report.pauseMs);
    if (a.pid === b.pid) h.push((b.self - a.self) / 1e6), s.push((b.sandbox - a.sandbox) / 1e6);
  }
  return { pauses, host: median(h), sandbox: median(s) };
}

const mods = await makeModsDir({ combat: combatMod(ENTITIES) }, { limits: COMBAT_LIMITS });
const host = await ModHost.create({ modsDir: mods.dir, isolation: process.argv.includes("--inline") ? "inline" : "process", typecheck: "off", probation: false });
let out;
try {
  const ev = await batched(host);
  const naiveNs = await naive();
  const mig = await swapRounds(host, mods.dir, shapeRevision, Number(migrations), 1);
  const code = await swapRounds(host, mods.dir, revision, Number(swaps), 1000);
  const pauses = code.pauses.slice(5);
  out = {
    event_ns: { host: Math.round(ev.host), sandbox: Math.round(ev.sandbox), total: Math.round(ev.host + ev.sandbox), naive: Math.round(naiveNs), ratio_naive: +((ev.host + ev.sandbox) / naiveNs).toFixed(2) },
    migrate: { cpu_host_ms: +mig.host.toFixed(1), cpu_sandbox_ms: +mig.sandbox.toFixed(1), pause_p50_ms: +median(mig.pauses).toFixed(1) },
    code_swap: { pause_p50_ms: +median(pauses).toFixed(3), pause_p99_ms: +percentile(pauses, 99).toFixed(3) },
  };
} finally {
  await host.close();
  await mods.cleanup();
}
console.log(JSON.stringify(out));

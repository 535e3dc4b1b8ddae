// Probe: the process backend's frames, before and after a change, against the naive isolated-vm
// loader in the same run. CPU time per mod-event (this process, all threads, plus the sandbox
// process, all threads), each sample in a fresh process, the variants taking turns (A B A B ...):
//
//   mods100   100 combat mods (100 entities each), ticks of 10 emits not awaited one by one
//   mods1     1 combat mod (10k entities), 1000-event batches
//   single    1 combat mod (100 entities), one awaited emit at a time (CPU per emit; wall p50 too)
//
//   node --no-node-snapshot benchmarks/probes/frames.js [rounds] [engineA] [engineB]
//
// engineA / engineB: folders holding an engine's package.json and dist/ (a copy inside the
// workspace, so that its dependencies resolve), measured as "process_a" / "process_b"; without
// them, the workspace's engine as "process" and "inline". Prints one JSON line: medians, and
// each one's ratio to naive_ivm's CPU per mod-event.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { attackPayloads, combatMod, modSet, COMBAT_LIMITS } from "../lib/fixtures.js";
import { cpuNsOf, selfCpuNs } from "../lib/machine.js";
import { percentile, round } from "../lib/stats.js";

const SELF = fileURLToPath(import.meta.url);

/** CPU (ns) of this process and of the runner's sandbox process, if any. */
function cpuNow(runner) {
  const pid = runner.host?.sandboxPid;
  return { pid, ns: selfCpuNs() + (pid === undefined ? 0 : (cpuNsOf(pid) ?? Number.NaN)) };
}

/** ns of CPU per mod-event over `reps` calls of `work` (each `modEvents` mod-events). */
async function measure(runner, work, warm, reps, modEvents) {
  for (let i = 0; i < warm; i++) await work();
  const start = cpuNow(runner);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await work();
  const end = cpuNow(runner);
  // A restarted sandbox (a starved machine) spoils the figure: NaN, left out of the medians.
  if (end.pid !== start.pid) return { cpu: Number.NaN, wallUs: Number.NaN };
  return { cpu: (end.ns - start.ns) / (reps * modEvents), wallUs: ((performance.now() - t0) * 1000) / reps };
}

async function child(variant) {
  const { createRunner } = await import("../peers/index.js");
  const runnerName = variant.startsWith("process") ? "process" : variant;
  const options = { limits: COMBAT_LIMITS };
  const out = {};
  const check = (all, mods) => {
    for (const results of all) {
      if (results.length !== mods || results.some((r) => !r.ok)) throw new Error(`${variant}: ${JSON.stringify(results).slice(0, 300)}`);
    }
  };
  /** Runs `fn` on a fresh runner over `count` combat mods of `entities` each, then closes it. */
  const withRunner = async (count, entities, fn) => {
    const runner = await createRunner(runnerName, modSet("combat", count, () => combatMod(entities)), options);
    try {
      await fn(runner);
    } finally {
      await runner.close();
    }
  };
  /** ns per mod-event of batches of `size` attacks, each answered by `mods` mods. */
  const batches = (runner, mods, entities, size, warm, reps) => {
    const events = attackPayloads(entities, size).map((p) => ["attack", p]);
    return measure(runner, async () => check(await runner.emitBatch(events), mods), warm, reps, size * mods);
  };
  await withRunner(100, 100, async (runner) => (out.mods100 = (await batches(runner, 100, 100, 10, 5, 30)).cpu));
  await withRunner(1, 10_000, async (runner) => (out.mods1 = (await batches(runner, 1, 10_000, 1000, 2, 6)).cpu));
  await withRunner(1, 100, async (runner) => {
    const payloads = attackPayloads(100, 100);
    let i = 0;
    const single = await measure(runner, async () => check([await runner.emit("attack", payloads[i++ % payloads.length])], 1), 200, 1500, 1);
    out.single = single.cpu;
    out.single_wall_us = single.wallUs;
  });
  return out;
}

function runChild(variant, engine) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    if (engine !== undefined) env.MODHOST_BENCH_ENGINE = engine;
    const proc = spawn(process.execPath, ["--no-node-snapshot", SELF, "--child", variant], { stdio: ["ignore", "pipe", "inherit"], env });
    let text = "";
    proc.stdout.setEncoding("utf8").on("data", (chunk) => (text += chunk));
    proc.on("error", reject);
    proc.on("close", (code) => (code === 0 ? resolve(JSON.parse(text.trim().split("\n").pop())) : reject(new Error(`${variant} exited with ${code}`))));
  });
}

if (process.argv[2] === "--child") {
  console.log(JSON.stringify(await child(process.argv[3])));
  process.exit(0);
}
const [rounds = "3", engineA, engineB] = process.argv.slice(2);
const variants = engineA !== undefined ? [["naive_ivm"], ["process_a", engineA], ["process_b", engineB ?? engineA]] : [["naive_ivm"], ["process"], ["inline"]];
const samples = {};
for (let r = 0; r < Number(rounds); r++) {
  // Taking turns, the first one rotating, so that the machine's load falls on each alike.
  for (let k = 0; k < variants.length; k++) {
    const [variant, engine] = variants[(r + k) % variants.length];
    const result = await runChild(variant, engine);
    for (const [key, value] of Object.entries(result)) (samples[`${variant}.${key}`] ??= []).push(value);
  }
}
const median = (xs) => percentile(xs.filter((x) => Number.isFinite(x)), 50);
const out = {};
for (const [key, xs] of Object.entries(samples)) out[key.endsWith("wall_us") ? key : `${key}_ns`] = round(median(xs), 1);
for (const [variant] of variants) {
  if (variant === "naive_ivm") continue;
  for (const c of ["mods100", "mods1", "single"]) out[`${variant}.${c}.ratio_naive`] = round(median(samples[`${variant}.${c}`]) / median(samples[`naive_ivm.${c}`]), 3);
}
console.log(JSON.stringify(out));

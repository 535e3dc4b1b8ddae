// Probe: CPU per mod-event of modhost builds side by side with the naive isolated-vm loader, in one
// process, runners taking turns (A B naive A B naive ...), so that load from elsewhere falls on
// all alike. Two cases: 1 combat mod of 10k entities answering 1000-event batches, and 100 combat
// mods (100 entities each) answering ticks of 10 events. CPU is process.cpuUsage() (the isolates'
// threads included) plus, for process isolation, the sandbox process's CPU.
//
//   node --no-node-snapshot benchmarks/probes/prelude-cost.js [--rounds 7] [--isolation inline]
//        [--case batch1|tick100|both] [--level host|instance] --engine before=<dir> --engine after=<dir>
//
// --level instance drives the sandbox's ModInstance directly (the prelude and its host side, no
// queue, journal or results bookkeeping): the in-isolate per-event cost against the naive loader.
//
// <dir> is a copy of engine/ (package.json + dist/) inside the workspace, so that its dependencies
// resolve. Prints JSON: per case and runner the median us per mod-event and its ratio to naive_ivm.
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { attackPayloads, combatMod, combatSpec, makeModsDir, modSet, COMBAT_LIMITS } from "../lib/fixtures.js";
import { createHost } from "../lib/failures.js";
import { cpuNsOf } from "../lib/machine.js";
import { percentile, round, tick } from "../lib/stats.js";
import { createRunner } from "../peers/index.js";

function parse(argv) {
  const out = { rounds: 7, isolation: "inline", case: "both", level: "host", engines: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--rounds") out.rounds = Number(argv[++i]);
    else if (a === "--isolation") out.isolation = argv[++i];
    else if (a === "--case") out.case = argv[++i];
    else if (a === "--level") out.level = argv[++i];
    else if (a === "--engine") {
      const [name, dir] = (argv[++i] ?? "").split("=");
      out.engines.push({ name, dir: resolve(dir) });
    }
  }
  if (out.engines.length === 0) out.engines.push({ name: "workspace", dir: resolve("engine") });
  return out;
}

const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

/** A modhost runner over `mods` from the engine build in `dir`. */
async function modhostRunner(dir, mods, isolation) {
  const { ModHost } = await import(pathToFileURL(join(dir, "dist", "index.js")).href);
  const modsDir = await makeModsDir(mods, { limits: COMBAT_LIMITS });
  const host = await createHost(ModHost, { modsDir: modsDir.dir, isolation });
  return {
    host,
    cpu: () => cpuNs() + (host.sandboxPid === undefined ? 0 : cpuNsOf(host.sandboxPid) ?? 0),
    emitBatch: (events) => Promise.all(events.map(([e, p]) => host.emit(e, p))),
    close: async () => {
      await host.close();
      await modsDir.cleanup();
    },
  };
}

/** ModInstances of the engine build in `dir`, one per mod; emitBatch dispatches to each in turn. */
async function instanceRunner(dir, modCount, entities) {
  const { ModInstance } = await import(pathToFileURL(join(dir, "dist", "sandbox", "mod-instance.js")).href);
  const bridge = { log: () => undefined, capability: () => ({ reply: `{"ok":true}`, late: false }) };
  const instances = [];
  for (let m = 0; m < modCount; m++) {
    const instance = ModInstance.create(combatSpec(`m${m}`, entities), bridge, [1, 2, 3, 4 + m]);
    if (instance.initState(0).kind !== "ok") throw new Error("initState failed");
    instances.push(instance);
  }
  let seq = 0;
  return {
    cpu: cpuNs,
    emitBatch(events) {
      const wire = events.map(([name, payload]) => ({ seq: ++seq, name, payload: JSON.stringify(payload), now: seq }));
      const out = events.map(() => []);
      for (const instance of instances) {
        const r = instance.dispatch(wire, false);
        const results = JSON.parse(r.resultsJson);
        for (let k = 0; k < results.length; k++) out[k].push(results[k]);
      }
      return out;
    },
    close: () => {
      for (const instance of instances) instance.dispose();
    },
  };
}

async function naiveRunner(mods) {
  const loader = await createRunner("naive_ivm", mods);
  return { cpu: cpuNs, emitBatch: (events) => loader.emitBatch(events), close: () => loader.close?.() };
}

/** CPU ns per mod-event of `batches` batches of `size` events to `modCount` mods. */
async function measure(runner, payloads, size, batches, modCount) {
  const events = [];
  for (let i = 0; i < size; i++) events.push(["attack", payloads[i % payloads.length]]);
  await runner.emitBatch(events); // warm
  await tick();
  const c0 = runner.cpu();
  let failed = 0;
  for (let b = 0; b < batches; b++) {
    const all = await runner.emitBatch(events);
    for (const results of all) for (const r of results) if (!r.ok) failed++;
  }
  const ns = (runner.cpu() - c0) / (size * batches * modCount);
  return { ns, failed };
}

async function runCase(label, opts, mods, modCount, entities, payloads, size, batches) {
  const runners = [];
  for (const e of opts.engines) {
    if (opts.level === "instance") runners.push({ name: `${e.name}_instance`, runner: await instanceRunner(e.dir, modCount, entities) });
    else runners.push({ name: `${e.name}_${opts.isolation}`, runner: await modhostRunner(e.dir, mods, opts.isolation) });
  }
  runners.push({ name: "naive_ivm", runner: await naiveRunner(mods) });
  const samples = Object.fromEntries(runners.map((r) => [r.name, []]));
  const ratios = Object.fromEntries(runners.map((r) => [r.name, []]));
  let failed = 0;
  for (let round_ = 0; round_ < opts.rounds; round_++) {
    const got = {};
    // Rotate the order each round so no runner always goes first.
    for (let k = 0; k < runners.length; k++) {
      const r = runners[(k + round_) % runners.length];
      const m = await measure(r.runner, payloads, size, batches, modCount);
      got[r.name] = m.ns;
      failed += m.failed;
    }
    for (const r of runners) {
      samples[r.name].push(got[r.name] / 1000);
      ratios[r.name].push(got[r.name] / got.naive_ivm);
    }
  }
  for (const r of runners) await r.runner.close();
  const out = {};
  for (const r of runners) out[r.name] = { us: round(percentile(samples[r.name], 50), 3), ratio_naive: round(percentile(ratios[r.name], 50), 3) };
  return { case: label, failed, ...out };
}

const opts = parse(process.argv.slice(2));
const results = [];
if (opts.case !== "tick100") {
  const entities = 10_000;
  results.push(await runCase("1 mod, 10k entities, 1000-event batches", opts, { combat: combatMod(entities) }, 1, entities, attackPayloads(entities, 1000), 1000, 3));
}
if (opts.case !== "batch1") {
  const mods = modSet("m", 100, () => combatMod(100));
  results.push(await runCase("100 mods, 100 entities, 10-event ticks", opts, mods, 100, 100, attackPayloads(100, 1000), 10, 20));
}
console.log(JSON.stringify({ level: opts.level, isolation: opts.isolation, rounds: opts.rounds, results }, null, 2));

// Probe: one runner alone in its process (no other runner's isolates beside it), over the tick
// benchmark's mods: CPU per mod-event (this process, every thread, plus the sandbox processes of a
// process host), the host's share, and minor page faults per mod-event in this process. The tick
// benchmark runs every runner in one process taking turns; this shows each one's own figure, and
// how far it moves from run to run (finding 12: on Node 20 the same runner reads 3 or 12-15 µs).
//
//   node --no-node-snapshot benchmarks/probes/alone.js <engineDir|naive|naive-shared|naive-process> [seconds] [mods] [events] [entities]
//
// naive-shared: the naive loader writing each tick's JSON once for every mod (it writes it per mod):
// the floor of a one-thread inline loader (peers/naive-ivm.js).
// naive-process: the naive loader behind a process boundary, one frame each way per tick
// (peers/naive-ivm-process.js): the floor of the process-isolation figures.
// <engineDir> is a copy of engine/ (package.json + dist/) inside the workspace, or "engine" for the
// workspace's own. ALONE_ISOLATION=process for process isolation (default inline); ALONE_WARM=<ticks>
// (default 300) ticks before measuring; ALONE_PROCESSES=<n> sandbox processes (process isolation);
// ALONE_CHECKPOINT_EVERY=<events> the host's checkpointEvery; ALONE_VIA=emit (see below). Defaults: 10 s, 100 mods, 10 events per tick, 100 entities.
import { readFileSync } from "node:fs";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "../lib/fixtures.js";
import { cpuNsOfAll, processPidsOf, sandboxPidsOf, selfCpuNs } from "../lib/machine.js";
import { createRunner } from "../peers/index.js";

const [engineDir = "engine", secondsArg = "10", modsArg = "100", eventsArg = "10", entitiesArg = "100"] = process.argv.slice(2);
const mods = Number(modsArg);
const events = Number(eventsArg);
const entities = Number(entitiesArg);
const isolation = process.env.ALONE_ISOLATION ?? "inline";

/** This process's minor page faults so far (/proc/self/stat, field 10). */
const minorFaults = () => Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")[7]);

let emit;
let close;
let host;
/** Processes besides this one whose CPU counts: a process host's sandboxes, or the naive loader's child. */
let pidsOf = () => sandboxPidsOf(host);
/** The peer each non-engine argument names. */
const PEER_OF = { naive: "naive_ivm", "naive-shared": "naive_ivm_shared", "naive-process": "naive_ivm_process" };
const peer = PEER_OF[engineDir];
if (peer !== undefined) {
  const runner = await createRunner(peer, modSet("combat", mods, () => combatMod(entities)), { limits: COMBAT_LIMITS });
  pidsOf = () => processPidsOf(runner);
  const tick = attackPayloads(entities, events).map((payload) => ["attack", payload]);
  emit = () => runner.emitBatch(tick);
  close = () => runner.close();
} else {
  const { ModHost } = await import(new URL(`../../${engineDir}/dist/index.js`, import.meta.url));
  const dir = await makeModsDir(modSet("combat", mods, () => combatMod(entities)), { limits: COMBAT_LIMITS });
  const pool = process.env.ALONE_PROCESSES === undefined ? {} : { sandboxProcesses: Number(process.env.ALONE_PROCESSES) };
  const every = process.env.ALONE_CHECKPOINT_EVERY === undefined ? {} : { checkpointEvery: Number(process.env.ALONE_CHECKPOINT_EVERY) };
  host = await ModHost.create({ modsDir: dir.dir, isolation, typecheck: "off", ...pool, ...every });
  const tick = attackPayloads(entities, events).map((payload) => ({ event: "attack", payload }));
  // ALONE_VIA=emit: one emit() per event, then await them all (the emit loop), not host.emitMany.
  emit = process.env.ALONE_VIA === "emit" ? () => Promise.all(tick.map((e) => host.emit(e.event, e.payload))) : () => host.emitMany(tick);
  close = async () => {
    await host.close();
    await dir.cleanup();
  };
}
try {
  for (let i = 0; i < Number(process.env.ALONE_WARM ?? 300); i++) await emit();
  const pids = pidsOf();
  const sandboxNs = () => (pids.length === 0 ? 0 : (cpuNsOfAll(pids) ?? NaN));
  const faults0 = minorFaults();
  const sandbox0 = sandboxNs();
  const self0 = selfCpuNs();
  const started = Date.now();
  let ticks = 0;
  while (Date.now() - started < Number(secondsArg) * 1000) {
    await emit();
    ticks++;
  }
  const elapsedMs = Date.now() - started;
  const self = selfCpuNs() - self0;
  const sandbox = sandboxNs() - sandbox0;
  const modEvents = ticks * mods * events;
  const round = (x) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({
    runner: peer ?? `${engineDir} (${isolation})`,
    node: process.version,
    cpu_us_per_mod_event: round((self + sandbox) / 1000 / modEvents),
    host_us_per_mod_event: round(self / 1000 / modEvents),
    faults_per_mod_event: Math.round(((minorFaults() - faults0) / modEvents) * 1000) / 1000,
    ticks,
    events_per_s: round((ticks * events * 1000) / elapsedMs),
  }));
} finally {
  await close();
}

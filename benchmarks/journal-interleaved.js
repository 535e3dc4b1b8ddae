// Journal cost per mod-event, two builds compared in ONE process, tick by tick: three hosts of N
// combat mods (100 entities each) run side by side: "memory" (no stateDir, build A), and one host
// per build with a stateDir and the given durability. Ticks (`events` emits, every mod answers
// each) go to the three in turn, so slow drift of a loaded machine (other processes, CPU
// frequency) hits all three alike; separate runs per configuration differed by more than the
// journal costs on a machine with a load average of 20-30.
//   node --no-node-snapshot benchmarks/journal-interleaved.js <engineDirA> <engineDirB> [mods] [ticks] [events] [durability] [isolation]
// engineDir: a copy of engine/ (package.json + dist/) inside the workspace, as benchmarks/lib/engine.js
// makes (e.g. benchmarks/.engine/<name>). Prints one JSON line: per configuration, CPU per
// mod-event of the whole process and of the main thread alone (us, summed over that
// configuration's ticks), and added_* = durability minus memory. A build's background work for a
// tick (a segment write) may land in the next tick's reading: it is small and spreads over all.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "./lib/fixtures.js";

const [engineA, engineB, modsArg = "100", ticksArg = "60", eventsArg = "10", durability = "batch", isolation = "inline"] = process.argv.slice(2);
if (engineA === undefined || engineB === undefined) throw new Error("usage: journal-interleaved.js <engineDirA> <engineDirB> [mods] [ticks] [events] [durability] [isolation]");
const mods = Number(modsArg);
const ticks = Number(ticksArg);
const events = Number(eventsArg);
const load = (dir) => import(pathToFileURL(join(resolve(dir), "dist", "index.js")).href);
const [a, b] = [await load(engineA), await load(engineB)];
const set = await makeModsDir(modSet("combat", mods, () => combatMod(100)), { limits: COMBAT_LIMITS });
const dirs = [];
const hosts = [];
try {
  const common = { modsDir: set.dir, isolation, typecheck: "off", checkpointEvery: 1_000_000, checkpointIntervalMs: 3_600_000 };
  const withState = async () => {
    const dir = await mkdtemp(join(tmpdir(), "modhost-bench-journal-"));
    dirs.push(dir);
    return { stateDir: dir, durability };
  };
  const configs = [
    { name: "memory", host: await a.ModHost.create(common) },
    { name: `${durability}_A`, host: await a.ModHost.create({ ...common, ...(await withState()) }) },
    { name: `${durability}_B`, host: await b.ModHost.create({ ...common, ...(await withState()) }) },
  ];
  for (const c of configs) hosts.push(c.host);
  const payloads = attackPayloads(100, events);
  const tick = async (host) => {
    const all = await Promise.all(payloads.map((p) => host.emit("attack", p)));
    for (const results of all) for (const r of results) if (!r.ok) throw new Error(`${r.mod}: ${r.error?.code} ${r.error?.message}`);
  };
  for (let i = 0; i < Math.max(5, ticks / 10); i++) for (const c of configs) await tick(c.host);
  const totals = configs.map(() => ({ cpu: 0, main: 0 }));
  for (let i = 0; i < ticks; i++) {
    // Rotate the order every tick: no configuration always follows the same one.
    for (let k = 0; k < configs.length; k++) {
      const j = (i + k) % configs.length;
      const cpu0 = process.cpuUsage();
      const main0 = mainThreadCpuNs();
      await tick(configs[j].host);
      const cpu = process.cpuUsage(cpu0);
      totals[j].main += (mainThreadCpuNs() - main0) / 1000;
      totals[j].cpu += cpu.user + cpu.system;
    }
  }
  const modEvents = ticks * events * mods;
  const out = { mods, ticks, events, durability, isolation, engineA, engineB };
  configs.forEach((c, j) => {
    out[`cpu_us_${c.name}`] = +(totals[j].cpu / modEvents).toFixed(2);
    out[`main_us_${c.name}`] = +(totals[j].main / modEvents).toFixed(2);
  });
  for (const side of ["A", "B"]) {
    out[`added_cpu_us_${side}`] = +(out[`cpu_us_${durability}_${side}`] - out.cpu_us_memory).toFixed(2);
    out[`added_main_us_${side}`] = +(out[`main_us_${durability}_${side}`] - out.main_us_memory).toFixed(2);
  }
  console.log(JSON.stringify(out));
} finally {
  for (const host of hosts) await host.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  await set.cleanup();
}

/** CPU time of the main thread (ns): its run time in /proc/self/task/<pid>/schedstat. */
function mainThreadCpuNs() {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
}

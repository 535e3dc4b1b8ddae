// Journal cost per mod-event with a stateDir: N combat mods (100 entities each), ticks of
// `events` emits (every mod answers each), for one durability. One configuration per process;
// prints one JSON line. Run before/after builds interleaved (MODHOST_BENCH_ENGINE picks the build):
//   node --no-node-snapshot benchmarks/journal-mods.js <mods> <memory|none|batch|fsync> [ticks] [events] [isolation]
// No checkpoint is taken (by count or by time: a loaded machine's run can pass the 30 s default).
// cpu_us_per_mod_event: this process's CPU (process.cpuUsage) over the timed ticks / mod-events;
// wall_us_per_mod_event: wall time the same way; sys_us_per_mod_event: the kernel's part of the CPU;
// main_thread_us_per_mod_event: the main thread's CPU alone (the rest is libuv's file I/O threads,
// the type-check worker, isolated-vm's threads). The journal's cost is the difference to "memory"
// (no stateDir) measured the same way.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "./lib/fixtures.js";
import { loadModhost } from "./lib/engine.js";

const [modsArg = "100", durability = "batch", ticksArg = "200", eventsArg = "10", isolation = "inline"] = process.argv.slice(2);
const mods = Number(modsArg);
const ticks = Number(ticksArg);
const events = Number(eventsArg);
const { ModHost } = await loadModhost();
const set = await makeModsDir(modSet("combat", mods, () => combatMod(100)), { limits: COMBAT_LIMITS });
const stateDir = await mkdtemp(join(tmpdir(), "modhost-bench-journal-"));
try {
  const host = await ModHost.create({ modsDir: set.dir, ...(durability === "memory" ? {} : { stateDir, durability }), isolation, typecheck: "off", checkpointEvery: 1_000_000, checkpointIntervalMs: 3_600_000 });
  try {
    const payloads = attackPayloads(100, events);
    const tick = async () => {
      const all = await Promise.all(payloads.map((p) => host.emit("attack", p)));
      for (const results of all) for (const r of results) if (!r.ok) throw new Error(`${r.mod}: ${r.error?.code} ${r.error?.message}`);
    };
    for (let i = 0; i < Math.max(5, ticks / 10); i++) await tick();
    const main0 = mainThreadCpuNs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < ticks; i++) await tick();
    const wallUs = (performance.now() - t0) * 1000;
    const cpu = process.cpuUsage(cpu0);
    const mainUs = (mainThreadCpuNs() - main0) / 1000;
    const modEvents = ticks * events * mods;
    console.log(JSON.stringify({ mods, durability, isolation, ticks, events, cpu_us_per_mod_event: +((cpu.user + cpu.system) / modEvents).toFixed(2), wall_us_per_mod_event: +(wallUs / modEvents).toFixed(2), sys_us_per_mod_event: +(cpu.system / modEvents).toFixed(2), main_thread_us_per_mod_event: +(mainUs / modEvents).toFixed(2) }));
  } finally {
    await host.close();
  }
} finally {
  await rm(stateDir, { recursive: true, force: true });
  await set.cleanup();
}

/** CPU time of the main thread (ns): its run time in /proc/self/task/<pid>/schedstat. */
function mainThreadCpuNs() {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
}

// Probe: where the CPU of a 100-mod tick goes, by thread of this process: the main thread (host
// code, and the isolates' code, which applySync runs on the calling thread) and the rest (V8's
// background threads: optimizing compilers, concurrent GC; isolated-vm's timer thread). modhost
// inline (host.emitMany) or the naive isolated-vm loader, one per run, after `warm` ticks:
//
//   node --no-node-snapshot benchmarks/probes/tick-threads.js <modhost|naive> [warm] [ticks] [engineDir]
//
// With 100 isolates, each compiles its own optimized code: a short warm-up (the benchmarks' own is
// one tick) measures that tier-up on the background threads; warm 400 the steady state. Prints
// one JSON line: CPU µs per mod-event, total and by thread name ("main" for the main thread).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "../lib/fixtures.js";
import { NaiveIvmLoader } from "../peers/naive-ivm.js";

const [which = "modhost", warm = "50", ticks = "300", engineDir] = process.argv.slice(2);
const MODS = 100;
const ENTITIES = 100;
const SIZE = 10;

/** CPU ns so far of every thread of this process, by thread id, with its name. */
function threads() {
  const out = new Map();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      out.set(tid, { name: tid === String(process.pid) ? "main" : readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim(), ns });
    } catch (err) {
      if (err.code !== "ENOENT" && err.code !== "ESRCH") throw err; // a thread that ended meanwhile
    }
  }
  return out;
}

const mods = modSet("combat", MODS, () => combatMod(ENTITIES));
const dir = await makeModsDir(mods, { limits: COMBAT_LIMITS });
const tick = attackPayloads(ENTITIES, SIZE).map((payload) => ({ event: "attack", payload }));
let run;
let close;
if (which === "modhost") {
  const { ModHost } = await import(engineDir ? pathToFileURL(join(engineDir, "dist", "index.js")).href : "modhost");
  const host = await ModHost.create({ modsDir: dir.dir, isolation: "inline" });
  run = () => host.emitMany(tick);
  close = () => host.close();
} else {
  const naive = await NaiveIvmLoader.create(mods);
  const pairs = tick.map(({ event, payload }) => [event, payload]);
  run = async () => naive.emitBatch(pairs);
  close = async () => naive.close();
}
try {
  for (let i = 0; i < Number(warm); i++) await run();
  const before = threads();
  for (let i = 0; i < Number(ticks); i++) await run();
  const after = threads();
  const modEvents = Number(ticks) * MODS * SIZE;
  const byName = {};
  let total = 0;
  for (const [tid, { name, ns }] of after) {
    const spent = ns - (before.get(tid)?.ns ?? 0);
    byName[name] = (byName[name] ?? 0) + spent;
    total += spent;
  }
  const us = (ns) => Number((ns / 1000 / modEvents).toFixed(2));
  console.log(JSON.stringify({ runner: which, warm: Number(warm), ticks: Number(ticks), cpu_us: us(total), by_thread: Object.fromEntries(Object.entries(byName).map(([k, v]) => [k, us(v)])) }));
} finally {
  await close();
  await dir.cleanup();
}

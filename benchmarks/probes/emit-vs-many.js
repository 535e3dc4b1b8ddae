// Probe: one host, ticks through the emit loop and through host.emitMany taking turns (the order
// swapping each round), CPU of this process per mod-event for each tick, with the garbage
// collections (ms / count) seen during it: whether one way is dearer on the same host and code,
// and how its first ticks compare with later ones (finding 14: the tick benchmark's 1000-event
// emitMany figure was its warm-up).
//
//   node --no-node-snapshot benchmarks/probes/emit-vs-many.js [mods] [events] [rounds] [warm]
//
// Defaults: 100 combat mods (100 entities), 1000 events per tick, 12 rounds, 30 warm-up rounds of
// both; ISO=process for process isolation (CPU then counts this process only). Prints one JSON
// line: per way, "cpu_us/gc_ms/gc_count" per tick.
import { PerformanceObserver } from "node:perf_hooks";
import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "../lib/fixtures.js";
import { selfCpuNs } from "../lib/machine.js";
const [mods = 100, events = 1000, rounds = 12, warm = 30] = process.argv.slice(2).map(Number);
const { ModHost } = await import(new URL(`../../engine/dist/index.js`, import.meta.url));
const dir = await makeModsDir(modSet("combat", mods, () => combatMod(100)), { limits: COMBAT_LIMITS });
const host = await ModHost.create({ modsDir: dir.dir, isolation: process.env.ISO ?? "inline", typecheck: "off" });
const tick = attackPayloads(100, events).map((payload) => ({ event: "attack", payload }));
const ways = {
  emit: () => Promise.all(tick.map((e) => host.emit(e.event, e.payload))),
  many: () => host.emitMany(tick),
};
let gcMs = 0, gcN = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) { gcMs += e.duration; gcN++; } }).observe({ entryTypes: ["gc"] });
for (let i = 0; i < warm; i++) { await ways.emit(); await ways.many(); }
const out = { emit: [], many: [] };
for (let r = 0; r < rounds; r++) {
  for (const w of r % 2 ? ["emit", "many"] : ["many", "emit"]) {
    await new Promise((res) => setImmediate(res));
    const g0 = gcMs, n0 = gcN, c0 = selfCpuNs();
    await ways[w]();
    const c = (selfCpuNs() - c0) / 1000 / (mods * events);
    await new Promise((res) => setImmediate(res));
    out[w].push(`${c.toFixed(2)}/${(gcMs - g0).toFixed(0)}ms/${gcN - n0}`);
  }
}
console.log(JSON.stringify(out));
await host.close(); await dir.cleanup();

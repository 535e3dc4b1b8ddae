import { COMBAT_LIMITS, attackPayloads, combatMod, makeModsDir, modSet } from "./lib/fixtures.js";
import { percentile } from "./lib/stats.js";
const [isolation = "inline", every = "1000", stateDir = ""] = process.argv.slice(2);
const { ModHost } = await import("../engine/dist/index.js");
const mods = { ...modSet("combat", 1, () => combatMod(10000)), ...modSet("small", 10, () => combatMod(100)) };
const dir = await makeModsDir(mods, { limits: COMBAT_LIMITS });
const host = await ModHost.create({ modsDir: dir.dir, isolation, typecheck: "off", checkpointEvery: Number(every), ...(stateDir ? { stateDir: dir.dir + "/.state" } : {}) });
const tick = attackPayloads(100, 100).map((payload) => ({ event: "attack", payload }));
const times = [];
const t0 = performance.now();
while (performance.now() - t0 < 10000) { const s = performance.now(); await host.emitMany(tick); times.push(performance.now() - s); }
const r = (x) => Math.round(x * 100) / 100;
console.log(JSON.stringify({ isolation, every, ticks: times.length, p50: r(percentile(times, 50)), p99: r(percentile(times, 99)), max: r(Math.max(...times)), over5ms: times.filter((t) => t > 5).length, checkpoints: host.metrics?.().mods?.[0]?.checkpoints }));
await host.close(); await dir.cleanup();

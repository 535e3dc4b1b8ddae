import { NaiveIvmLoader } from "./peers/naive-ivm.js";
import { attackPayloads, combatMod, modSet } from "./lib/fixtures.js";
import { selfCpuNs } from "./lib/machine.js";
const N = Number(process.argv[2] ?? 100), E = Number(process.argv[3] ?? 10);
const loader = await NaiveIvmLoader.create(modSet("combat", N, () => combatMod(100)));
const tick = attackPayloads(100, E).map((p) => ["attack", p]);
const sandboxes = [...loader.mods.values()].map((m) => m.sandbox);
const text = JSON.stringify(tick);
const syncTick = () => { for (const s of sandboxes) JSON.parse(s.refs.__dispatchBatch.applySync(undefined, [text], { timeout: 1000 })); };
const asyncTick = async () => { const all = await Promise.all(sandboxes.map((s) => s.refs.__dispatchBatch.apply(undefined, [text], { timeout: 1000 }))); for (const r of all) JSON.parse(r); };
for (const [name, f] of [["sync", syncTick], ["async", asyncTick], ["sync", syncTick], ["async", asyncTick]]) {
  for (let i = 0; i < 300; i++) await f();
  const c0 = selfCpuNs(), t0 = performance.now(); let ticks = 0;
  while (performance.now() - t0 < 4000) { await f(); ticks++; }
  const ms = performance.now() - t0, cpu = selfCpuNs() - c0;
  console.log(name, "eps", Math.round(ticks * E / ms * 1000), "cpu us/mod-event", (cpu / 1000 / (ticks * N * E)).toFixed(2), "wall us/mod-event", (ms * 1000 / (ticks * N * E)).toFixed(2));
}
loader.close();

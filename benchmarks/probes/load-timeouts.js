// Probe: how often the combat mod fails to load (E_TIMEOUT in init()) with modhost's default call
// limit (no limits in mod.json), over N creates. On an idle machine: rarely; on a busy one: often.
//
//   node --no-node-snapshot benchmarks/probes/load-timeouts.js [process|inline] [entities] [creates]
import { loadModhost } from "../lib/engine.js";
import { combatMod, makeModsDir } from "../lib/fixtures.js";

const [isolation = "inline", entities = "10000", creates = "10"] = process.argv.slice(2);
const { ModHost } = await loadModhost();
const mods = await makeModsDir({ combat: combatMod(Number(entities)) });
let failed = 0;
try {
  for (let i = 0; i < Number(creates); i++) {
    const t0 = performance.now();
    const host = await ModHost.create({ modsDir: mods.dir, isolation });
    const [mod] = host.mods();
    if (mod.status !== "running") failed++;
    console.log(`create #${i + 1}: ${(performance.now() - t0).toFixed(0)} ms, ${mod.status}${mod.error ? ` ${mod.error.code}: ${mod.error.message}` : ""}`);
    await host.close();
  }
} finally {
  await mods.cleanup();
}
console.log(`${failed} of ${creates} creates left the mod faulted`);

// Probe: the pause and phases of each of N code-only swaps (or shape-changing swaps with --migrate)
// of the combat mod, to see where a swap's time goes and which swaps pay a state copy.
//
//   node --no-node-snapshot benchmarks/probes/swap-phases.js [process|inline] [entities] [swaps] [--migrate]
//
// Prints only swaps whose pause exceeds 5 ms (OVER=<ms> in the environment to change it), with
// their phases, then the median pause.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadModhost } from "../lib/engine.js";
import { COMBAT_LIMITS, makeModsDir } from "../lib/fixtures.js";
import { percentile } from "../lib/stats.js";
import { revision, shapeRevision } from "../swap.js";

const [isolation = "inline", entities = "10000", swaps = "45"] = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const source = process.argv.includes("--migrate") ? shapeRevision : revision;
const { ModHost } = await loadModhost();
const mods = await makeModsDir({ combat: source(Number(entities), 0) }, { limits: COMBAT_LIMITS });
const host = await ModHost.create({ modsDir: mods.dir, isolation, typecheck: "off", probation: false });
const pauses = [];
try {
  for (let rev = 1; rev <= Number(swaps); rev++) {
    await writeFile(join(mods.dir, "combat", "main.ts"), source(Number(entities), rev));
    const report = await host.reload("combat");
    await host.emit("attack", { attacker: "e1", target: "e2", power: 1 });
    pauses.push(report.pauseMs);
    if (!report.ok || report.pauseMs > Number(process.env.OVER ?? 5)) console.log(`swap #${rev}: ok ${report.ok} pause ${report.pauseMs} ms, phases ${JSON.stringify(report.phases)}${report.error ? ` ${report.error.code}` : ""}`);
  }
} finally {
  await host.close();
  await mods.cleanup();
}
console.log(`${isolation}, ${entities} entities, ${swaps} swaps: median pause ${percentile(pauses, 50).toFixed(3)} ms, max ${Math.max(...pauses).toFixed(3)} ms`);

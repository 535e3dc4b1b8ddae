import { ModHost } from "modhost";
import { makeModsDir, combatMod, attackPayloads } from "/work/main/benchmarks/lib/fixtures.js";
import { performance } from "node:perf_hooks";
const mode = process.argv[2], kind = process.argv[3];
const d = await makeModsDir({ combat: combatMod(1000) });
const host = await ModHost.create({ modsDir: d.dir, isolation: mode });
const p = attackPayloads(1000, 1000);
const t = performance.now();
let n = 0;
while (performance.now() - t < 4000) {
  if (kind === "single") { for (let i = 0; i < 1000; i++) await host.emit("attack", p[i]); }
  else await Promise.all(p.map((x) => host.emit("attack", x)));
  n += 1000;
}
console.log(mode, kind, ((performance.now() - t) / n * 1e3).toFixed(2), "us/event");
await host.close(); await d.cleanup();

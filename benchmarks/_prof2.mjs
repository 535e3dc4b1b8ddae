import { ModHost } from "modhost";
import { makeModsDir, NOOP_MOD } from "/work/main/benchmarks/lib/fixtures.js";
import { performance } from "node:perf_hooks";
const d = await makeModsDir({ noop: NOOP_MOD });
const host = await ModHost.create({ modsDir: d.dir, isolation: "inline" });
for (let i = 0; i < 5000; i++) await host.emit("noop", null);
const t = performance.now(); let n = 0;
while (performance.now() - t < 4000) { for (let i = 0; i < 1000; i++) await host.emit("noop", null); n += 1000; }
console.log(((performance.now() - t) / n * 1e3).toFixed(2), "us/event");
await host.close(); await d.cleanup();

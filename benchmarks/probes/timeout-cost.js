// Probe: the CPU one timed-out event costs, inline (the isolates run in this process, so
// process.cpuUsage() sees all of it), as a ratio to the naive isolated-vm loader's timeout (one
// applySync of the same loop with the same 50 ms limit) measured in the same run. Since timeouts
// are located (a profiled replay, docs/ARCHITECTURE.md "Timeout"), a modhost timeout also pays the
// respawn the next event needed anyway, a state export and one more limit in a throwaway isolate.
// Prints JSON. MODHOST_BENCH_ENGINE=<dir> measures another build (benchmarks/lib/engine.js).
//
//   node --no-node-snapshot benchmarks/probes/timeout-cost.js [timeouts]
import { loadModhost } from "../lib/engine.js";
import { makeModsDir } from "../lib/fixtures.js";
import { loadIsolatedVm } from "../lib/ivm.js";

const timeouts = Number(process.argv[2] ?? "5");
const LIMIT_MS = 50;
const LOOP = `export default { init: () => ({ n: 0 }), on: { spin(s: { n: number }) { s.n += 1; while (s.n > 0) { s.n = (s.n % 7) + 1; } return s.n; } } };\n`;

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function modhostPerTimeout() {
  const { ModHost } = await loadModhost();
  const mods = await makeModsDir({ spinner: LOOP }, { limits: { callTimeoutMs: LIMIT_MS } });
  const host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", quarantineAfter: 1_000_000 });
  try {
    await host.emit("spin"); // warm: the first timeout also loads what later ones reuse
    const costs = [];
    let located = 0;
    for (let i = 0; i < timeouts; i++) {
      const before = cpuMs();
      const [r] = await host.emit("spin");
      costs.push(cpuMs() - before);
      if (r?.error?.code !== "E_TIMEOUT") throw new Error(`expected E_TIMEOUT, got ${JSON.stringify(r)}`);
      if (r.error.file !== undefined) located++;
    }
    return { cpuMs: median(costs), located };
  } finally {
    await host.close();
    await mods.cleanup();
  }
}

function naivePerTimeout() {
  const ivm = loadIsolatedVm();
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  try {
    const context = isolate.createContextSync();
    const fn = context.evalClosureSync("return (n) => { while (n > 0) { n = (n % 7) + 1; } return n; }", [], { result: { reference: true } });
    const costs = [];
    for (let i = 0; i < timeouts; i++) {
      const before = cpuMs();
      try {
        fn.applySync(undefined, [1], { timeout: LIMIT_MS });
      } catch (err) {
        if (!/timed out/.test(String(err))) throw err;
      }
      costs.push(cpuMs() - before);
    }
    return { cpuMs: median(costs) };
  } finally {
    isolate.dispose();
  }
}

const naive = naivePerTimeout();
const modhost = await modhostPerTimeout();
console.log(JSON.stringify({ probe: "timeout-cost", limitMs: LIMIT_MS, timeouts, modhostCpuMsPerTimeout: Math.round(modhost.cpuMs * 10) / 10, located: modhost.located, naiveCpuMsPerTimeout: Math.round(naive.cpuMs * 10) / 10, ratio: Math.round((modhost.cpuMs / naive.cpuMs) * 100) / 100 }));

// Growth over many reloads (issue 11, finding 6): host heap and the stateDir's versions/ folder
// after 1k, 5k and 10k code-only reloads of one mod with a stateDir, one event between reloads.
// Prints one JSON object. Heap is read after a forced GC (process isolation: run node with
// --expose-gc; inline isolation refuses that flag at create(), so it is turned on after create()).
//
//   node --no-node-snapshot --expose-gc benchmarks/reload-growth.js [--reloads 10000] [--isolation process|inline] [--marks 1000,5000,10000]
import { mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parseArgs } from "node:util";
import { loadModhost } from "./lib/engine.js";

const { values } = parseArgs({ options: { reloads: { type: "string", default: "10000" }, isolation: { type: "string", default: "process" }, marks: { type: "string" } } });
const reloads = Number(values.reloads);
const marks = new Set((values.marks ?? [1000, 5000, 10000].filter((m) => m <= reloads).concat(reloads).join(",")).split(",").map(Number));
const { ModHost } = await loadModhost();

const root = await mkdtemp(join(tmpdir(), "modhost-growth-"));
const modsDir = join(root, "mods");
const stateDir = join(root, "state");
await mkdir(join(modsDir, "grow"), { recursive: true });
const source = (rev) => `import { defineMod } from "@modhost/sdk";
type State = { n: number };
export default defineMod<State>({ init: () => ({ n: 0 }), on: { tick(state) { state.n += 1; return ${rev}; } } });
`;
const write = (rev) => writeFile(join(modsDir, "grow", "main.ts"), source(rev));
await writeFile(join(modsDir, "grow", "mod.json"), JSON.stringify({ name: "grow", version: "1.0.0", entry: "main.ts", permissions: [] }));
await write(0);

const host = await ModHost.create({ modsDir, stateDir, isolation: values.isolation, typecheck: "off", probation: false });
if (typeof globalThis.gc !== "function") setFlagsFromString("--expose-gc");
const gc = typeof globalThis.gc === "function" ? globalThis.gc : runInNewContext("gc");
const heapMb = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(2);
};
const versionsCount = async () => (await readdir(join(stateDir, "versions"))).length;

const samples = [];
let failed = 0;
const errors = {};
const count = (code) => (errors[code] = (errors[code] ?? 0) + 1);
samples.push({ reloads: 0, heapMb: await heapMb(), versions: await versionsCount() });
const started = Date.now();
for (let rev = 1; rev <= reloads; rev++) {
  await write(rev);
  const report = await host.reload("grow");
  if (!report.ok) {
    failed++;
    count(`reload:${report.error?.code}`);
  }
  const [result] = await host.emit("tick");
  if (result?.value !== rev) {
    failed++;
    count(result?.ok ? "tick:stale-version" : `tick:${result?.error?.code}`);
  }
  if (marks.has(rev)) samples.push({ reloads: rev, heapMb: await heapMb(), versions: await versionsCount() });
}
const out = {
  isolation: values.isolation,
  reloads,
  failed,
  errors,
  seconds: +((Date.now() - started) / 1000).toFixed(1),
  samples,
  state: await host.state("grow"),
};
await host.close();
await rm(root, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(out)}\n`);

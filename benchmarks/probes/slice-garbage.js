// Probe: what a 1000-event dispatch costs inside the isolate once the mod's state is big, and how
// much of it is the young generation's garbage. One combat mod of 10k entities answers 1000-event
// calls through the sandbox's ModInstance (prelude and its host side, no queue or journal) of each
// engine build named, and through the naive isolated-vm loader's batch call; runners take turns.
// With --trace-gc (V8's flag: it reaches isolated-vm's isolates too) it also sums, per isolate, the
// scavenges and their time during the measured calls.
//
//   node --no-node-snapshot benchmarks/probes/slice-garbage.js [--rounds 5] [--calls 30] [--gc] <dir>[=label]...
//
// <dir> is a copy of engine/ (package.json + dist/) inside the workspace. Prints JSON: per runner
// the median CPU us per event, and with --gc the scavenges and their ms per 1000 calls' worth.
//
// Seen on Node 20 (2026-12-03): before results were flattened as they join the slice
// (engine/runtime/prelude.ts, FLATTEN_AFTER), 60 scavenges and 46-67 ms per 30k events against 30
// and 5 ms for the naive loader; CPU per event 5.8 us against 3.9; after, 49 scavenges, 17-19 ms,
// 4.0 us.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { attackPayloads, combatMod, combatSpec } from "../lib/fixtures.js";
import { percentile, round } from "../lib/stats.js";

const ENTITIES = 10_000;
const SELF = fileURLToPath(import.meta.url);

/**
 * Child mode: runs one runner once and prints `{ us }` on its last line, between markers that let
 * the parent cut the measured calls' scavenges out of --trace-gc's lines.
 */
async function child(which, dir, calls) {
  const payloads = attackPayloads(ENTITIES, 1000);
  let run;
  if (which === "naive") {
    const { createRunner } = await import("../peers/index.js");
    const loader = await createRunner("naive_ivm", { combat: combatMod(ENTITIES) });
    const events = payloads.map((p) => ["attack", p]);
    run = () => loader.emitBatch(events);
  } else {
    const { ModInstance } = await import(pathToFileURL(join(dir, "dist", "sandbox", "mod-instance.js")).href);
    const instance = ModInstance.create(combatSpec("m", ENTITIES), { log: () => undefined, capability: () => ({ reply: `{"ok":true}`, late: false }) }, [1, 2, 3, 4]);
    if (instance.initState(0).kind !== "ok") throw new Error("initState failed");
    let seq = 0;
    run = () => JSON.parse(instance.dispatch(payloads.map((p) => ({ seq: ++seq, name: "attack", payload: JSON.stringify(p), now: seq })), false).resultsJson);
  }
  for (let i = 0; i < 5; i++) await run();
  process.stdout.write("--- measured calls start\n");
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) await run();
  const c = process.cpuUsage(c0);
  process.stdout.write("--- measured calls end\n");
  process.stdout.write(`${JSON.stringify({ us: (c.user + c.system) / (calls * 1000) })}\n`);
}

/** Per isolate (address), scavenges and their ms between the markers of a --trace-gc log. */
function scavenges(stdout) {
  const per = new Map();
  let inside = false;
  for (const line of stdout.split("\n")) {
    if (line.includes("--- measured calls start")) inside = true;
    else if (line.includes("--- measured calls end")) inside = false;
    const m = inside && /^\[\d+:(0x[0-9a-f]+)\].*Scavenge .*MB, ([\d.]+) \//.exec(line);
    if (!m) continue;
    const seen = per.get(m[1]) ?? { scavenges: 0, ms: 0 };
    seen.scavenges++;
    seen.ms += Number(m[2]);
    per.set(m[1], seen);
  }
  // The busiest isolate is the mod's (the host's own heap scavenges far less often here).
  return [...per.values()].sort((a, b) => b.scavenges - a.scavenges)[0] ?? { scavenges: 0, ms: 0 };
}

async function main(argv) {
  const opts = { rounds: 5, calls: 30, gc: false, runners: [{ label: "naive_ivm", which: "naive" }] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--rounds") opts.rounds = Number(argv[++i]);
    else if (argv[i] === "--calls") opts.calls = Number(argv[++i]);
    else if (argv[i] === "--gc") opts.gc = true;
    else {
      const [dir, label = dir] = argv[i].split("=");
      opts.runners.push({ label, which: "engine", dir: resolve(dir) });
    }
  }
  const got = Object.fromEntries(opts.runners.map((r) => [r.label, { us: [], scavenges: [], scavengeMs: [] }]));
  for (let round_ = 0; round_ < opts.rounds; round_++) {
    for (let k = 0; k < opts.runners.length; k++) {
      const r = opts.runners[(k + round_) % opts.runners.length];
      const flags = ["--no-node-snapshot", ...(opts.gc ? ["--trace-gc"] : []), SELF, "--child", r.which, r.dir ?? "", String(opts.calls)];
      // --trace-gc writes to stdout (V8 flushes each line): the markers go there too, in order.
      const out = spawnSync(process.execPath, flags, { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"] });
      if (out.status !== 0) throw new Error(`${r.label}: ${out.stderr.slice(-2000)}`);
      const lines = out.stdout.trim().split("\n");
      // With --gc a scavenge may be traced after the result line: the result is the last JSON line.
      got[r.label].us.push(JSON.parse(lines.findLast((line) => line.startsWith("{"))).us);
      if (opts.gc) {
        const s = scavenges(out.stdout);
        got[r.label].scavenges.push(s.scavenges);
        got[r.label].scavengeMs.push(s.ms);
      }
    }
  }
  const median = (xs) => round(percentile(xs, 50), 3);
  const report = Object.fromEntries(Object.entries(got).map(([label, g]) => [label, { us_per_event: median(g.us), ...(opts.gc ? { scavenges: median(g.scavenges), scavenge_ms: median(g.scavengeMs) } : {}) }]));
  process.stdout.write(`${JSON.stringify({ entities: ENTITIES, events_per_call: 1000, calls: opts.calls, rounds: opts.rounds, runners: report }, null, 2)}\n`);
}

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main(process.argv.slice(2));

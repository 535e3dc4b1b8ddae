// Probe: CPU per event of the sandbox's ModInstance.dispatch (prelude + its host side only), for
// engine builds side by side in one process, alternating in short stretches (A B A B ...) and
// reported as the median of paired ratios to the first build. Mods: "noop" (returns a small
// object), "nested" (returns objects in an array and an object), "combat" (the benchmark's combat
// mod, 100 entities). Shapes: one mod answering calls of
// `--events` events, and `--mods` mods each answering one call per tick (cold caches).
//
//   node --no-node-snapshot benchmarks/probes/prelude-micro.js --engine before=<dir> --engine after=<dir>
//        [--rounds 30] [--events 10] [--mods 100]
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { COMBAT_LOGIC, attackPayloads } from "../lib/fixtures.js";
import { percentile, round } from "../lib/stats.js";

const args = { rounds: 30, events: 10, mods: 100, engines: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--engine") {
    const [name, dir] = argv[++i].split("=");
    args.engines.push({ name, dir: resolve(dir) });
  } else if (argv[i] === "--rounds") args.rounds = Number(argv[++i]);
  else if (argv[i] === "--events") args.events = Number(argv[++i]);
  else if (argv[i] === "--mods") args.mods = Number(argv[++i]);
}
const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const MODS = {
  noop: `export default { init: () => ({ n: 0 }), on: { ev(s, p) { s.n++; return { n: s.n, tag: "x", ok: true }; } } };`,
  nested: `export default { init: () => ({ n: 0 }), on: { ev(s, p) { s.n++; return { n: s.n, hits: [{ id: p.target, dmg: 3 }, { id: p.attacker, dmg: 5 }], at: { x: 1, y: p.power } }; } } };`,
  combat: `${COMBAT_LOGIC}\nexport default { init: () => ({ entities: makeEntities(100), rounds: 0 }), on: { ev(s, e) { return attack(s, e); } } };`,
};
const spec = (name, js) => ({
  name, version: "1.0.0", hash: name, entry: "main.ts", modules: [{ path: "main.ts", js, imports: {} }],
  permissions: [], memoryMb: 32, callTimeoutMs: 250, maxBytes: 1 << 20, maxLogsPerCall: 100,
});
const bridge = { log: () => undefined, capability: () => ({ reply: `{"ok":true}`, late: false }) };
const payloads = attackPayloads(100, 1000).map((p) => JSON.stringify(p));
let seq = 0;
const batch = (n) => Array.from({ length: n }, () => ({ seq: ++seq, name: "ev", payload: payloads[seq % 1000], now: seq }));

const out = {};
for (const [modName, js] of Object.entries(MODS)) {
  const runners = [];
  for (const e of args.engines) {
    const { ModInstance } = await import(pathToFileURL(join(e.dir, "dist", "sandbox", "mod-instance.js")).href);
    const make = (k) => {
      const i = ModInstance.create(spec(`${modName}${k}`, js), bridge, [1, 2, 3, k]);
      if (i.initState(0).kind !== "ok") throw new Error("init");
      return i;
    };
    runners.push({ name: e.name, one: make(0), many: Array.from({ length: args.mods }, (_, k) => make(k + 1)) });
  }
  const shapes = {
    [`one_${args.events}ev`]: (r) => {
      for (let c = 0; c < 50; c++) if (r.one.dispatch(batch(args.events), false).count !== args.events) throw new Error("short");
      return 50 * args.events;
    },
    [`mods${args.mods}_${args.events}ev`]: (r) => {
      for (let t = 0; t < 3; t++) {
        const events = batch(args.events);
        for (const i of r.many) if (i.dispatch(events, false).count !== args.events) throw new Error("short");
      }
      return 3 * args.events * args.mods;
    },
  };
  for (const [shape, run] of Object.entries(shapes)) {
    for (const r of runners) run(r); // warm
    const ns = Object.fromEntries(runners.map((r) => [r.name, []]));
    const ratio = Object.fromEntries(runners.map((r) => [r.name, []]));
    for (let round_ = 0; round_ < args.rounds; round_++) {
      const got = {};
      for (let k = 0; k < runners.length; k++) {
        const r = runners[(k + round_) % runners.length];
        const c0 = cpuNs();
        const n = run(r);
        got[r.name] = (cpuNs() - c0) / n;
      }
      for (const r of runners) {
        ns[r.name].push(got[r.name]);
        ratio[r.name].push(got[r.name] / got[runners[0].name]);
      }
    }
    out[`${modName}.${shape}`] = Object.fromEntries(runners.map((r) => [r.name, { us: round(percentile(ns[r.name], 50) / 1000, 3), ratio_first: round(percentile(ratio[r.name], 50), 3) }]));
  }
  for (const r of runners) {
    r.one.dispose();
    for (const i of r.many) i.dispose();
  }
}
console.log(JSON.stringify({ rounds: args.rounds, events: args.events, mods: args.mods, out }, null, 2));

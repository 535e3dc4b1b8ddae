// Probe: what the combat mod's state operations cost in a bare isolated-vm isolate (no engine), to
// compare with modhost's figures: init() of N entities, a migrate() that rewrites every entity,
// and one JSON.stringify of the state (what a checkpoint or snapshot serializes).
//
//   node --no-node-snapshot benchmarks/probes/bare-costs.js [entities] [rounds]
import { COMBAT_LOGIC } from "../lib/fixtures.js";
import { loadIsolatedVm } from "../lib/ivm.js";

const [entities = "10000", rounds = "6"] = process.argv.slice(2);
const ivm = loadIsolatedVm();
for (let r = 0; r < Number(rounds); r++) {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  const context = isolate.createContextSync();
  isolate
    .compileScriptSync(
      `${COMBAT_LOGIC}
      globalThis.init = () => { globalThis.s = { entities: makeEntities(${Number(entities)}), rounds: 0 }; return 1; };
      globalThis.migrate = () => { const entities = {}; for (const id in s.entities) entities[id] = { ...s.entities[id], level: 1 }; globalThis.s = { entities, rounds: s.rounds }; return 1; };
      globalThis.snapshot = () => JSON.stringify(s).length;`,
    )
    .runSync(context);
  const call = (name) => {
    const fn = context.global.getSync(name, { reference: true });
    const t0 = performance.now();
    const out = fn.applySync(undefined, [], { timeout: 5000 });
    fn.release();
    return { ms: performance.now() - t0, out };
  };
  const init = call("init");
  const migrate = call("migrate");
  const snapshot = call("snapshot");
  console.log(`init ${init.ms.toFixed(1)} ms · migrate ${migrate.ms.toFixed(1)} ms · JSON.stringify ${snapshot.ms.toFixed(1)} ms (${snapshot.out} chars)`);
  context.release();
  isolate.dispose();
}

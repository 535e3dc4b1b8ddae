// Probe: the host's bookkeeping per (mod, event) on the tick path, inline isolation. For a no-op
// and a combat mod, 1 and 100 mods, 10 and 1000 events per tick: a loop of emit() (awaited
// together), host.emitMany() (when the build has it), the naive isolated-vm loader's batch
// (one call per mod per tick), and the same loader behind a promise per event ("naive_promises":
// the floor of any emit()-per-event API over it), taking turns (A B C A B C ...). Figures are process CPU time
// (process.cpuUsage: every thread, isolates included) per mod-event, medians over the rounds, and
// their ratio to the naive loader's median in the same run.
//
//   node --no-node-snapshot benchmarks/probes/tick-bookkeeping.js [rounds] [engineDir=label ...]
//   (TICK_BOOKKEEPING_ONLY=combat_1mods_1000ev: that configuration alone)
//
// Each engineDir is a copy of engine/ (package.json + dist/) inside the workspace, to compare
// builds in one run; without one, the workspace's modhost is measured as "modhost".
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { COMBAT_LIMITS, NOOP_MOD, attackPayloads, combatMod, makeModsDir, modSet } from "../lib/fixtures.js";
import { NaiveIvmLoader } from "../peers/naive-ivm.js";

const [roundsArg = "5", ...engineArgs] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
/** TICK_BOOKKEEPING_ONLY=<kind>_<mods>mods_<events>ev measures that configuration alone. */
const ONLY = process.env.TICK_BOOKKEEPING_ONLY;
const ENTITIES = 1000;
/**
 * Checkpoints (a state export) out of the way, but not off: with none, the in-memory journal grows
 * without end and its garbage collection would be measured instead of the event path.
 */
const CHECKPOINT_EVERY = 100_000;
/** About this many mod-events per sample (at least one tick). */
const WORK = 20_000;

const engines = engineArgs.length === 0 ? [{ label: "modhost", url: "modhost" }] : engineArgs.map((arg) => {
  const [dir, label = dir] = arg.split("=");
  return { label, url: pathToFileURL(join(dir, "dist", "index.js")).href };
});

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** The tick for a mod kind: `size` events. */
function tickOf(kind, size) {
  if (kind === "noop") return Array.from({ length: size }, () => ["noop", null]);
  return attackPayloads(ENTITIES, size).map((p) => ["attack", p]);
}

/**
 * emit(event, payload) over a naive loader: a promise per event, the events emitted in one turn
 * run as one batch in a microtask, each promise resolved with its event's results.
 */
function promisePerEvent(naive) {
  let events = [];
  let resolves = [];
  const flush = () => {
    const batch = events;
    const waiting = resolves;
    events = [];
    resolves = [];
    const results = naive.emitBatch(batch);
    for (let i = 0; i < waiting.length; i++) waiting[i](results[i]);
  };
  return (event, payload) =>
    new Promise((resolve) => {
      if (events.push([event, payload]) === 1) queueMicrotask(flush);
      resolves.push(resolve);
    });
}

async function measureConfig(kind, modCount, size, out) {
  const source = kind === "noop" ? () => NOOP_MOD : () => combatMod(ENTITIES);
  const mods = modSet(kind, modCount, source);
  const dir = await makeModsDir(mods, { limits: kind === "combat" ? COMBAT_LIMITS : undefined });
  const tick = tickOf(kind, size);
  const tickObjects = tick.map(([event, payload]) => ({ event, payload }));
  const ticksPerSample = Math.max(1, Math.floor(WORK / (modCount * size)));
  const runners = [];
  const hosts = [];
  try {
    for (const engine of engines) {
      const { ModHost } = await import(engine.url);
      const host = await ModHost.create({ modsDir: dir.dir, isolation: "inline", checkpointEvery: CHECKPOINT_EVERY });
      hosts.push(host);
      runners.push({ name: `${engine.label}_loop`, run: () => Promise.all(tick.map(([e, p]) => host.emit(e, p))) });
      if (typeof host.emitMany === "function") runners.push({ name: `${engine.label}_emitMany`, run: () => host.emitMany(tickObjects) });
    }
    const naive = await NaiveIvmLoader.create(mods);
    hosts.push({ close: async () => naive.close() });
    runners.push({ name: "naive_ivm", run: async () => naive.emitBatch(tick) });
    // The floor of an emit()-per-event API: the naive loader behind one promise per event, the
    // events of a turn run as one batch (what modhost's emit loop is measured against).
    const emit = promisePerEvent(naive);
    runners.push({ name: "naive_promises", run: () => Promise.all(tick.map(([e, p]) => emit(e, p))) });

    const samples = Object.fromEntries(runners.map((r) => [r.name, []]));
    for (let round = -1; round < ROUNDS; round++) {
      for (const runner of runners) {
        const before = cpuUs();
        for (let t = 0; t < ticksPerSample; t++) {
          const results = await runner.run();
          if (results.length !== size || results.some((rs) => rs.length !== modCount || rs.some((r) => !r.ok))) {
            throw new Error(`${runner.name}: a failed or missing result in ${JSON.stringify(results.find((rs) => rs.length !== modCount || rs.some((r) => !r.ok)))}`);
          }
        }
        const spent = cpuUs() - before;
        if (round >= 0) samples[runner.name].push(spent / (ticksPerSample * modCount * size));
      }
    }
    const naiveUs = median(samples.naive_ivm);
    const key = `${kind}_${modCount}mods_${size}ev`;
    out[key] = Object.fromEntries(
      runners.map((r) => {
        const us = median(samples[r.name]);
        return [r.name, { cpu_us_per_mod_event: Number(us.toFixed(3)), ratio_naive: Number((us / naiveUs).toFixed(3)) }];
      }),
    );
    console.error(key, JSON.stringify(out[key]));
  } finally {
    for (const host of hosts) await host.close();
    await dir.cleanup();
  }
}

const out = { rounds: ROUNDS, entities: ENTITIES, isolation: "inline", unit: "CPU us per mod-event (median)" };
for (const kind of ["noop", "combat"]) {
  for (const modCount of [1, 100]) {
    for (const size of [10, 1000]) if (ONLY === undefined || ONLY === `${kind}_${modCount}mods_${size}ev`) await measureConfig(kind, modCount, size, out);
  }
}
console.log(JSON.stringify(out, null, 2));

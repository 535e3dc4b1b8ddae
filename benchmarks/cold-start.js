// Cold start: ModHost.create() until the first event is answered by every mod, for 1 and 10 mods,
// inline and process isolation. "cached": a later create in the same process (the compile cache
// is an in-process LRU, and TypeScript and isolated-vm are already loaded). "uncached": the first
// create in a fresh node process (one child process per sample). "diskcached": the same, with
// options.cacheDir pointing at an on-disk compile cache that an earlier process filled.
//
// Side by side: the peers (benchmarks/peers/) load the same mods (TypeScript transpiled, one
// sandbox per mod, init, first event answered). cached: in this process, their transpile output
// cached as modhost's compile cache is; uncached: a fresh process per sample, import of the peer's
// library (isolated-vm, the QuickJS WebAssembly module) timed apart as <peer>.coldstart.import_ms.
// combat10k: every runner (modhost too) loading one combat mod whose init() builds 10k entities.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { putMs, putRatio } from "./lib/compare.js";
import { noteFailure } from "./lib/failures.js";
import { COMBAT_LIMITS, combatMod, makeModsDir, modSet, smallMod } from "./lib/fixtures.js";
import { runChild } from "./lib/spawn.js";
import { record, recordValue, round, summarize, tick } from "./lib/stats.js";
import { PEERS, createRunner, peerLoader } from "./peers/index.js";
import { loadModhost } from "./lib/engine.js";

export const name = "cold-start";

const ISOLATIONS = ["process", "inline"];

function sizes(quick) {
  return quick ? { cached: 1, uncached: 1, peerUncached: 1, combat: 1, combatEntities: 1000 } : { cached: 15, uncached: 6, peerUncached: 6, combat: 10, combatEntities: 10_000 };
}

/** The mod sets, as { name: source }: the same texts makeModsDir writes for modhost. */
const SETS = {
  10: () => modSet("score", 10, smallMod),
  1: () => modSet("solo", 1, smallMod),
};

/** One timed start of a peer: create (transpile, sandboxes, init), first "tick" answered by every mod. */
async function timedPeerStart(Loader, mods, expected, cached = true) {
  const t0 = performance.now();
  const loader = await Loader.create(mods, { cached });
  try {
    const results = loader.emit("tick", { dt: 16 });
    const t1 = performance.now();
    if (results.length !== expected || results.some((r) => !r.ok)) throw new Error(`${Loader.peer} first event: ${JSON.stringify(results).slice(0, 500)}`);
    return t1 - t0;
  } finally {
    loader.close();
  }
}

/**
 * One timed start of any runner with the combat mod: create, first "attack" answered. For modhost,
 * `combatDir` holds the mod already (peers get the source text; neither pays for writing files).
 */
async function timedCombatStart(ModHost, runner, source, combatDir) {
  const attack = { attacker: "e1", target: "e2", power: 1 };
  const t0 = performance.now();
  const loader = runner === "process" || runner === "inline" ? await ModHost.create({ modsDir: combatDir, isolation: runner, typecheck: "off" }) : await createRunner(runner, { combat: source });
  try {
    let results = loader.emit("attack", attack);
    if (results instanceof Promise) results = await results;
    const t1 = performance.now();
    if (results.length !== 1 || !results[0].ok) {
      noteFailure(`${runner}:coldstart:${results[0]?.error?.code ?? "not loaded"}`, results, 10);
      return undefined;
    }
    return t1 - t0;
  } finally {
    await loader.close();
  }
}

/**
 * One timed start: create, first event answered by all `expected` mods. Closes the host untimed.
 * A mod that failed to load (on a busy machine a load-time call can run past its wall-clock
 * limit) makes it `{ failed: code }` instead.
 */
async function timedStart(ModHost, modsDir, isolation, expected, cacheDir) {
  const t0 = performance.now();
  const host = await ModHost.create({ modsDir, isolation, typecheck: "off", ...(cacheDir !== undefined ? { cacheDir } : {}) });
  const t1 = performance.now();
  let t2 = t1;
  try {
    if (expected > 0) {
      const results = await host.emit("tick", { dt: 16 });
      t2 = performance.now();
      if (results.length !== expected || results.some((r) => !r.ok)) {
        const bad = host.mods().find((m) => m.status !== "running");
        return { failed: bad?.error?.code ?? results.find((r) => !r.ok)?.error?.code ?? "E_UNKNOWN" };
      }
    }
  } finally {
    await host.close();
  }
  return { createMs: t1 - t0, totalMs: t2 - t0 };
}

/** Runs `start()` (a timedStart) until it succeeds, at most 3 times; counts each failure. */
async function retried(what, start) {
  for (let attempt = 1; ; attempt++) {
    const out = await start();
    if (out.failed === undefined) return out;
    noteFailure(`${what}:load:${out.failed}`, out, 20);
    if (attempt >= 3) throw new Error(`${what}: no start in 3 attempts (${out.failed})`);
  }
}

/** In a fresh process: import modhost (or a peer's loader), then one timed start. */
export async function child({ modsDir, isolation, expected, cacheDir, peer, set }) {
  if (peer !== undefined) {
    const t0 = performance.now();
    const Loader = await peerLoader(peer);
    const importMs = performance.now() - t0;
    const totalMs = await timedPeerStart(Loader, SETS[set](), expected, false);
    return { importMs, totalMs };
  }
  const t0 = performance.now();
  const { ModHost } = await loadModhost();
  const importMs = performance.now() - t0;
  const start = await timedStart(ModHost, modsDir, isolation, expected, cacheDir);
  return { importMs, ...start };
}

/** Writes `<prefix>.p50_ms<suffix>` and `<prefix>.p99_ms<suffix>`. */
function put(metrics, counts, prefix, suffix, samples) {
  const s = summarize(samples);
  metrics[`${prefix}.p50_ms${suffix}`] = round(s.median);
  metrics[`${prefix}.p99_ms${suffix}`] = round(s.p99);
  counts[`${prefix}${suffix}`] = s.n;
  return s;
}

export async function run({ quick, peers = PEERS }) {
  const { ModHost } = await loadModhost();
  const n = sizes(quick);
  const metrics = {};
  const counts = {};
  const dirs = {
    10: await makeModsDir(modSet("score", 10, smallMod)),
    // Same main.ts text as score00: the compile cache (keyed by path and text) serves it too.
    1: await makeModsDir(modSet("solo", 1, smallMod)),
    0: await makeModsDir({}),
  };
  const cacheDir = await mkdtemp(join(tmpdir(), "modhost-bench-cache-"));
  try {
    // Fresh processes first (this process's cache does not matter to them), the two isolations
    // taking turns. "uncached": no compile cache at all. "diskcached": options.cacheDir pointing at
    // an on-disk compile cache filled beforehand. --quick runs each round's samples side by side.
    const fresh = { uncached: { process: [], inline: [] }, diskcached: { process: [], inline: [] } };
    const sample = async (kind, isolation) =>
      fresh[kind][isolation].push(await retried(isolation, () => runChild(name, { modsDir: dirs[10].dir, isolation, expected: 10, ...(kind === "diskcached" ? { cacheDir } : {}) })));
    let peersFresh;
    if (quick) {
      // A smoke test: fill the disk cache here, then every fresh process (the peers' too) at once.
      await retried("inline", () => timedStart(ModHost, dirs[10].dir, "inline", 10, cacheDir));
      peersFresh = peersUncached(peers, n, quick);
      await Promise.all(["uncached", "diskcached"].flatMap((kind) => ISOLATIONS.map((isolation) => sample(kind, isolation))));
    } else {
      await retried("inline", () => runChild(name, { modsDir: dirs[10].dir, isolation: "inline", expected: 10, cacheDir })); // fills the disk cache
      for (let i = 0; i < n.uncached; i++) {
        for (const kind of ["uncached", "diskcached"]) for (const isolation of ISOLATIONS) await sample(kind, isolation);
      }
      peersFresh = peersUncached(peers, n, quick);
    }
    const peerFreshSamples = await peersFresh;
    for (const kind of ["uncached", "diskcached"]) {
      for (const isolation of ISOLATIONS) {
        const samples = fresh[kind][isolation];
        const s = put(metrics, counts, `coldstart.${kind}10`, `_${isolation}`, samples.map((x) => x.totalMs));
        if (isolation === "process") {
          metrics[`coldstart.${kind}10.p50_ms`] = round(s.median);
          metrics[`coldstart.${kind}10.p99_ms`] = round(s.p99);
        }
        if (kind === "uncached") {
          const imports = summarize(samples.map((x) => x.importMs));
          recordValue(metrics, `coldstart.import_ms_${isolation}`, imports.median, imports.p99);
        }
      }
    }

    // Cached: prime this process (TypeScript, isolated-vm, compile cache), then measure.
    for (const isolation of ISOLATIONS) {
      await retried(isolation, () => timedStart(ModHost, dirs[10].dir, isolation, 10));
      for (const count of [10, 1, 0]) {
        const samples = [];
        for (let i = 0; i < n.cached; i++) {
          await tick();
          samples.push((await retried(isolation, () => timedStart(ModHost, dirs[count].dir, isolation, count))).totalMs);
        }
        const label = count === 0 ? "coldstart.empty" : `coldstart.cached${count}`;
        const s = put(metrics, counts, label, `_${isolation}`, samples);
        if (isolation === "process") {
          metrics[`${label}.p50_ms`] = round(s.median);
          metrics[`${label}.p99_ms`] = round(s.p99);
        }
      }
      // Marginal cost of one more mod (cached), from the 1- and 10-mod medians.
      const perMod = (metrics[`coldstart.cached10.p50_ms_${isolation}`] - metrics[`coldstart.cached1.p50_ms_${isolation}`]) / 9;
      recordValue(metrics, `coldstart.per_mod_ms_${isolation}`, perMod);
    }
    await peersColdStart(ModHost, peers, n, peerFreshSamples, metrics, counts);
  } finally {
    for (const dir of Object.values(dirs)) await dir.cleanup();
    await rm(cacheDir, { recursive: true, force: true });
  }
  return { metrics, counts };
}

/**
 * The peers: fresh-process starts of the 10-mod set, in-process (cached) starts of the 10- and
 * 1-mod sets, then every runner's start with the 10k-entity combat mod; ratios to native.
 */
/** The peers' fresh-process starts of the 10-mod set, taking turns (--quick: all at once). */
async function peersUncached(peers, n, quick) {
  const fresh = Object.fromEntries(peers.map((peer) => [peer, []]));
  for (let i = 0; i < n.peerUncached; i++) {
    const sample = async (peer) => fresh[peer].push(await runChild(name, { peer, set: 10, expected: 10 }));
    if (quick) await Promise.all(peers.map(sample));
    else for (const peer of peers) await sample(peer);
  }
  return fresh;
}

async function peersColdStart(ModHost, peers, n, fresh, metrics, counts) {
  const figures = {};
  const put = (runner, base, samples) => {
    const key = runner === "process" || runner === "inline" ? { prefix: base, suffix: `_${runner}` } : { prefix: `${runner}.${base}`, suffix: "" };
    const figure = putMs(metrics, counts, key.prefix, key.suffix, samples);
    if (runner === "process") putMs(metrics, counts, base, "", samples);
    (figures[runner] ??= {})[base] = figure;
  };
  // Uncached: a fresh process per sample (peersUncached).
  for (const peer of peers) {
    put(peer, "coldstart.uncached10", fresh[peer].map((x) => x.totalMs));
    record(metrics, `${peer}.coldstart.import_ms`, fresh[peer].map((x) => x.importMs), counts);
  }
  // Cached: in this process, after one warm-up start each.
  for (const peer of peers) {
    const Loader = await peerLoader(peer);
    await timedPeerStart(Loader, SETS[10](), 10);
    for (const count of [10, 1]) {
      const samples = [];
      for (let i = 0; i < n.cached; i++) {
        await tick();
        samples.push(await timedPeerStart(Loader, SETS[count](), count));
      }
      put(peer, `coldstart.cached${count}`, samples);
    }
  }
  // One combat mod with a 10k-entity state, every runner, taking turns.
  const runners = ["process", "inline", ...peers];
  const source = combatMod(n.combatEntities);
  const combatDir = await makeModsDir({ combat: source }, { limits: COMBAT_LIMITS });
  const combat = Object.fromEntries(runners.map((r) => [r, []]));
  try {
    for (const runner of runners) await timedCombatStart(ModHost, runner, source, combatDir.dir); // warm-up
    for (let i = 0; i < n.combat; i++) {
      for (let k = 0; k < runners.length; k++) {
        const runner = runners[(i + k) % runners.length];
        const ms = await timedCombatStart(ModHost, runner, source, combatDir.dir);
        if (ms !== undefined) combat[runner].push(ms);
      }
    }
  } finally {
    await combatDir.cleanup();
  }
  for (const runner of runners) put(runner, "coldstart.combat10k", combat[runner]);

  // Ratios to the native floor of this run (modhost: unsuffixed = process, and _inline).
  const native = figures.native;
  if (native === undefined) return;
  const modhost = {
    process: { "coldstart.cached10": { p50: metrics["coldstart.cached10.p50_ms_process"], p99: metrics["coldstart.cached10.p99_ms_process"] }, "coldstart.cached1": { p50: metrics["coldstart.cached1.p50_ms_process"], p99: metrics["coldstart.cached1.p99_ms_process"] }, "coldstart.uncached10": { p50: metrics["coldstart.uncached10.p50_ms_process"], p99: metrics["coldstart.uncached10.p99_ms_process"] } },
    inline: { "coldstart.cached10": { p50: metrics["coldstart.cached10.p50_ms_inline"], p99: metrics["coldstart.cached10.p99_ms_inline"] }, "coldstart.cached1": { p50: metrics["coldstart.cached1.p50_ms_inline"], p99: metrics["coldstart.cached1.p99_ms_inline"] }, "coldstart.uncached10": { p50: metrics["coldstart.uncached10.p50_ms_inline"], p99: metrics["coldstart.uncached10.p99_ms_inline"] } },
  };
  for (const runner of runners) {
    const own = { ...(modhost[runner] ?? {}), ...figures[runner] };
    for (const base of ["coldstart.cached10", "coldstart.cached1", "coldstart.uncached10", "coldstart.combat10k"]) {
      if (own[base] === undefined || native[base] === undefined) continue;
      if (runner === "process" || runner === "inline") {
        putRatio(metrics, `${base}.ratio_native_${runner}`, own[base], native[base].p50);
        if (runner === "process") putRatio(metrics, `${base}.ratio_native`, own[base], native[base].p50);
      } else {
        putRatio(metrics, `${runner}.${base}.ratio_native`, own[base], native[base].p50);
      }
    }
  }
}

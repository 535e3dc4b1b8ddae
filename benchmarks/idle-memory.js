// Memory per idle mod: load 1, 10 and 50 small idle mods and fit RSS against the mod count. Process
// isolation: VmRSS of the sandbox process. Inline isolation: growth of the host process's RSS
// across create() (in a fresh child process per sample, see child(); in this process with --quick).
// The floor for comparison: RSS per bare isolated-vm isolate and context, without the engine.
//
// Side by side: each peer (benchmarks/peers/) loading the same idle mods in a fresh process per
// sample: a twin set of 50 is loaded first and kept (it pays for the library, the transpiles and
// their garbage), then 1, 9 more and 40 more, reading RSS after each; <peer>.memory.idle_mod_mb is
// the slope over 1, 10, 50 (--quick: in this process).
import { noteFailure } from "./lib/failures.js";
import { idleMod, makeModsDir, modSet } from "./lib/fixtures.js";
import { loadIsolatedVm } from "./lib/ivm.js";
import { rssMbOf } from "./lib/machine.js";
import { runChild } from "./lib/spawn.js";
import { record, sleep } from "./lib/stats.js";
import { PEERS, peerLoader } from "./peers/index.js";
import { loadModhost } from "./lib/engine.js";

export const name = "idle-memory";

const COUNTS = [1, 10, 50];

function sizes(quick) {
  return quick ? { reps: 1, settleMs: 50 } : { reps: 3, settleMs: 500 };
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

/** Process isolation: VmRSS (MB) of the sandbox process holding `count` idle mods. */
async function sandboxRss(ModHost, modsDir, count, settleMs) {
  const host = await ModHost.create({ modsDir, isolation: "process", typecheck: "off" });
  try {
    const results = await host.emit("probe", null);
    if (results.length !== count || results.some((r) => !r.ok)) throw new Error(`probe: ${JSON.stringify(results).slice(0, 300)}`);
    await sleep(settleMs);
    return rssMbOf(host.sandboxPid);
  } finally {
    await host.close();
  }
}

/**
 * Host RSS growth across loading `count` idle mods inline (run in a fresh process per sample).
 * A first host loads the same mods and stays open: it pays for loading TypeScript and isolated-vm
 * and for compiling (whose garbage would otherwise count), and the measured host's isolates cannot
 * reuse memory freed by a closed one. The measured create() is served by the compile cache.
 */
export async function child({ modsDir, count, settleMs, floor, peer }) {
  if (floor) return bareIsolates(count, settleMs);
  if (peer !== undefined) return peerIdle(peer, settleMs);
  const { ModHost } = await loadModhost();
  const twin = await ModHost.create({ modsDir, isolation: "inline", typecheck: "off" });
  try {
    await twin.emit("probe", null);
    await sleep(settleMs);
    const before = process.memoryUsage();
    const host = await ModHost.create({ modsDir, isolation: "inline", typecheck: "off" });
    try {
      const results = await host.emit("probe", null);
      if (results.length !== count) throw new Error(`probe answered by ${results.length} mods, not ${count}`);
      await sleep(settleMs);
      const after = process.memoryUsage();
      return { rssMb: (after.rss - before.rss) / 2 ** 20, heapMb: (after.heapUsed - before.heapUsed) / 2 ** 20 };
    } finally {
      await host.close();
    }
  } finally {
    await twin.close();
  }
}

/**
 * The floor: RSS per bare isolated-vm isolate with one context and a one-line script (no engine),
 * as `count` of them are created after a first one.
 */
async function bareIsolates(count, settleMs) {
  const ivm = loadIsolatedVm();
  const live = [];
  const make = () => {
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    const context = isolate.createContextSync();
    isolate.compileScriptSync("globalThis.state = { seen: 0 }; 1").runSync(context);
    live.push({ isolate, context });
  };
  try {
    make();
    await sleep(settleMs);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < count; i++) make();
    await sleep(settleMs);
    return { rssMb: (process.memoryUsage().rss - before) / 2 ** 20 / count };
  } finally {
    for (const { isolate, context } of live) {
      context.release();
      isolate.dispose();
    }
  }
}

/** A peer's RSS (MB) after loading 1, 10 and 50 idle mods (COUNTS), past a twin set of 50 kept loaded. */
async function peerIdle(peer, settleMs) {
  const Loader = await peerLoader(peer);
  const mods = modSet("idle", COUNTS[COUNTS.length - 1], idleMod);
  const names = Object.keys(mods);
  const twin = await Loader.create(mods);
  const live = [twin];
  try {
    twin.emit("probe", null);
    await sleep(settleMs);
    const before = process.memoryUsage().rss;
    const rssMb = [];
    let loaded = 0;
    for (const count of COUNTS) {
      const batch = Object.fromEntries(names.slice(loaded, count).map((name) => [name, mods[name]]));
      const loader = await Loader.create(batch);
      live.push(loader);
      const results = loader.emit("probe", null);
      if (results.length !== count - loaded) throw new Error(`${peer}: probe answered by ${results.length} mods`);
      loaded = count;
      await sleep(settleMs);
      rssMb.push((process.memoryUsage().rss - before) / 2 ** 20);
    }
    return { rssMb };
  } finally {
    for (const loader of live) loader.close();
  }
}

/**
 * Runs a sample until it succeeds, at most 3 times: on a busy machine a mod can fail to load (a
 * load-time call past its wall-clock limit), and the probe then misses it. Each failure is counted.
 */
async function retried(what, sample) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sample();
    } catch (err) {
      noteFailure(`${what}:load`, err.message, 20);
      if (attempt >= 3) throw err;
    }
  }
}

export async function run({ quick, peers = PEERS }) {
  const { ModHost } = await loadModhost();
  const n = sizes(quick);
  const metrics = {};
  const counts = {};
  const dirs = {};
  for (const count of COUNTS) dirs[count] = await makeModsDir(modSet("idle", count, idleMod));
  try {
    const slopes = { process: [], inline: [], inlineHeap: [], floor: [] };
    const rss = { process: {}, inline: {} };
    for (let rep = 0; rep < n.reps; rep++) {
      const proc = [];
      const inl = [];
      const heap = [];
      for (const count of COUNTS) {
        const p = await retried("process", () => sandboxRss(ModHost, dirs[count].dir, count, n.settleMs));
        proc.push(p);
        (rss.process[count] ??= []).push(p);
        const params = { modsDir: dirs[count].dir, count, settleMs: n.settleMs };
        // --quick measures inline in this process (compile cache already warm) to stay fast.
        const i = await retried("inline", () => (quick ? child(params) : runChild(name, params)));
        inl.push(i.rssMb);
        heap.push(i.heapMb);
        (rss.inline[count] ??= []).push(i.rssMb);
      }
      const floorParams = { floor: true, count: COUNTS[COUNTS.length - 1], settleMs: n.settleMs };
      slopes.floor.push((await runChild(name, floorParams)).rssMb); // fresh process: no freed memory to reuse
      slopes.process.push(slope(COUNTS, proc));
      slopes.inline.push(slope(COUNTS, inl));
      slopes.inlineHeap.push(slope(COUNTS, heap));
    }
    // The peers, in turns (fresh processes; --quick: in this process, all at once).
    const peerSlopes = Object.fromEntries(peers.map((peer) => [peer, []]));
    for (let rep = 0; rep < n.reps; rep++) {
      const sample = async (peer) => {
        const { rssMb } = quick ? await peerIdle(peer, n.settleMs) : await runChild(name, { peer, settleMs: n.settleMs });
        peerSlopes[peer].push(slope(COUNTS, rssMb));
      };
      if (quick) await Promise.all(peers.map(sample));
      else for (const peer of peers) await sample(peer);
    }
    for (const peer of peers) record(metrics, `${peer}.memory.idle_mod_mb`, peerSlopes[peer], counts);
    record(metrics, "memory.idle_mod_mb", slopes.process, counts);
    record(metrics, "memory.idle_mod_mb_process", slopes.process, counts);
    record(metrics, "memory.idle_mod_mb_inline", slopes.inline, counts);
    record(metrics, "memory.idle_mod_host_heap_mb_inline", slopes.inlineHeap, counts);
    record(metrics, "memory.breakdown.bare_isolate_mb", slopes.floor, counts);
    for (const count of COUNTS) {
      record(metrics, `memory.sandbox_rss_mb.mods${count}`, rss.process[count], counts);
      record(metrics, `memory.host_rss_growth_mb_inline.mods${count}`, rss.inline[count], counts);
    }
  } finally {
    for (const dir of Object.values(dirs)) await dir.cleanup();
  }
  return { metrics, counts };
}


// Memory per idle mod: load 1, 10 and 50 small idle mods and fit RSS against the mod count. Process
// isolation: VmRSS of the sandbox process. Inline isolation: growth of the host process's RSS
// across create() (in a fresh child process per sample, see child(); in this process with --quick).
import { idleMod, makeModsDir, modSet } from "./lib/fixtures.js";
import { rssMbOf } from "./lib/machine.js";
import { runChild } from "./lib/spawn.js";
import { record, sleep } from "./lib/stats.js";

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

/** Creates a host over `modsDir`, sends every mod one event, waits, and reads memory. */
async function loadIdle(ModHost, modsDir, isolation, count, settleMs) {
  const host = await ModHost.create({ modsDir, isolation });
  try {
    const results = await host.emit("probe", null);
    if (results.length !== count || results.some((r) => !r.ok)) throw new Error(`probe: ${JSON.stringify(results).slice(0, 300)}`);
    await sleep(settleMs);
    if (isolation === "process") return { rssMb: rssMbOf(host.sandboxPid) };
    const usage = process.memoryUsage();
    return { rssMb: usage.rss / 2 ** 20, heapMb: usage.heapUsed / 2 ** 20 };
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
export async function child({ modsDir, count, settleMs }) {
  const { ModHost } = await import("modhost");
  const twin = await ModHost.create({ modsDir, isolation: "inline" });
  try {
    await twin.emit("probe", null);
    await sleep(settleMs);
    const before = process.memoryUsage();
    const host = await ModHost.create({ modsDir, isolation: "inline" });
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

export async function run({ quick }) {
  const { ModHost } = await import("modhost");
  const n = sizes(quick);
  const metrics = {};
  const counts = {};
  const dirs = {};
  for (const count of COUNTS) dirs[count] = await makeModsDir(modSet("idle", count, idleMod));
  try {
    const slopes = { process: [], inline: [], inlineHeap: [] };
    const rss = { process: {}, inline: {} };
    for (let rep = 0; rep < n.reps; rep++) {
      const proc = [];
      const inl = [];
      const heap = [];
      for (const count of COUNTS) {
        const p = await loadIdle(ModHost, dirs[count].dir, "process", count, n.settleMs);
        proc.push(p.rssMb);
        (rss.process[count] ??= []).push(p.rssMb);
        const params = { modsDir: dirs[count].dir, count, settleMs: n.settleMs };
        // --quick measures inline in this process (compile cache already warm) to stay fast.
        const i = quick ? await child(params) : await runChild(name, params);
        inl.push(i.rssMb);
        heap.push(i.heapMb);
        (rss.inline[count] ??= []).push(i.rssMb);
      }
      slopes.process.push(slope(COUNTS, proc));
      slopes.inline.push(slope(COUNTS, inl));
      slopes.inlineHeap.push(slope(COUNTS, heap));
    }
    record(metrics, "memory.idle_mod_mb", slopes.process, counts);
    record(metrics, "memory.idle_mod_mb_process", slopes.process, counts);
    record(metrics, "memory.idle_mod_mb_inline", slopes.inline, counts);
    record(metrics, "memory.idle_mod_host_heap_mb_inline", slopes.inlineHeap, counts);
    for (const count of COUNTS) {
      record(metrics, `memory.sandbox_rss_mb.mods${count}`, rss.process[count], counts);
      record(metrics, `memory.host_rss_growth_mb_inline.mods${count}`, rss.inline[count], counts);
    }
  } finally {
    for (const dir of Object.values(dirs)) await dir.cleanup();
  }
  return { metrics, counts };
}


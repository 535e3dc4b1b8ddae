// Under load: another process burns every core (a busy loop on its main thread and on workers)
// while modhost serves a steady event stream: a tick every 10 ms (10 attacks, each answered by 10
// combat mods of 100 entities, default time limits), each tick awaited before the next, for a
// fixed time per isolation. A starved but healthy sandbox must not be restarted and a healthy
// mod's call must not time out; what happens is counted:
//
//   load.<isolation>.sandbox_restarts   sandbox process restarts during the stream (process; target 0)
//   load.<isolation>.timeouts           event results that failed with E_TIMEOUT (target 0)
//   load.<isolation>.failed_events      event results with ok: false, any code
//   load.<isolation>.mods_not_running   mods not running at the end (faulted, quarantined)
//   load.<isolation>.ticks              ticks served; .tick_ms: wall time of one tick (median, .p99)
//   load.burner_cores                   CPU the burner got over the stream (cores; shows the load was real)
import { spawn } from "node:child_process";
import os from "node:os";
import { loadModhost } from "./lib/engine.js";
import { createHost } from "./lib/failures.js";
import { attackPayloads, combatMod, makeModsDir, modSet } from "./lib/fixtures.js";
import { cpuNsOf, sandboxPidsOf } from "./lib/machine.js";
import { nowMs, record, round, sleep } from "./lib/stats.js";

export const name = "load";

const MODS = 10;
const EVENTS_PER_TICK = 10;
const TICK_MS = 10;

/** A node process spinning on `threads` threads (main + workers) until killed. */
function startBurner(threads) {
  const code = `const { Worker } = require("node:worker_threads");
for (let i = 1; i < ${threads}; i++) new Worker("for (;;) {}", { eval: true });
for (;;) {}`;
  const child = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
  return {
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", resolve);
        child.kill("SIGKILL");
      }),
  };
}

/** The stream through one host for `durationMs`: counts (see the header) and tick times. */
async function stream(host, durationMs) {
  const payloads = attackPayloads(100, EVENTS_PER_TICK);
  const pids = sandboxPidsOf(host);
  const restarts0 = host.metrics().sandboxRestarts ?? 0;
  const tickMs = [];
  let failed = 0;
  let timeouts = 0;
  let pidChanges = 0;
  const end = nowMs() + durationMs;
  for (let next = nowMs(); nowMs() < end; ) {
    const t0 = nowMs();
    const all = await Promise.all(payloads.map((p) => host.emit("attack", p)));
    tickMs.push(nowMs() - t0);
    for (const results of all) {
      for (const r of results) {
        if (r.ok) continue;
        failed++;
        if (r.error?.code === "E_TIMEOUT") timeouts++;
      }
    }
    if (sandboxPidsOf(host).join(",") !== pids.join(",")) pidChanges++;
    next += TICK_MS;
    const wait = next - nowMs();
    if (wait > 0) await sleep(wait);
    else next = nowMs(); // behind: no catch-up burst, the next tick starts now
  }
  // A restart the metric missed (an engine without the counter) still shows as a changed pid.
  const restarts = Math.max((host.metrics().sandboxRestarts ?? 0) - restarts0, pidChanges > 0 ? 1 : 0);
  const notRunning = host.mods().filter((m) => m.status !== "running").length;
  return { restarts, failed, timeouts, notRunning, tickMs };
}

export async function run({ quick }) {
  const { ModHost } = await loadModhost();
  const durationMs = quick ? 1000 : 10_000;
  const threads = os.availableParallelism?.() ?? os.cpus().length;
  const metrics = {};
  const counts = {};
  let burnerNs = 0;
  let burnedMs = 0;
  for (const isolation of ["process", "inline"]) {
    const mods = await makeModsDir(modSet("combat", MODS, () => combatMod(100)));
    let host;
    let burner;
    try {
      // Created before the load starts: the figure is serving under load, not loading under it.
      host = await createHost(ModHost, { modsDir: mods.dir, isolation, typecheck: "off" });
      burner = startBurner(threads);
      // Node's boot takes a while on a busy machine: the stream starts once the burner spins.
      for (const until = nowMs() + 10_000; (cpuNsOf(burner.pid) ?? 0) < 50e6 && nowMs() < until; ) await sleep(50);
      const cpu0 = cpuNsOf(burner.pid) ?? 0;
      const t0 = nowMs();
      const r = await stream(host, durationMs);
      burnedMs += nowMs() - t0;
      burnerNs += (cpuNsOf(burner.pid) ?? cpu0) - cpu0;
      const base = `load.${isolation}`;
      metrics[`${base}.sandbox_restarts`] = r.restarts;
      metrics[`${base}.timeouts`] = r.timeouts;
      metrics[`${base}.failed_events`] = r.failed;
      metrics[`${base}.mods_not_running`] = r.notRunning;
      metrics[`${base}.ticks`] = r.tickMs.length;
      record(metrics, `${base}.tick_ms`, r.tickMs, counts);
    } finally {
      await burner?.stop();
      await host?.close();
      await mods.cleanup();
    }
  }
  metrics["load.burner_cores"] = round(burnerNs / 1e6 / burnedMs);
  return { metrics, counts, params: { "load.duration_ms": durationMs, "load.mods": MODS, "load.events_per_tick": EVENTS_PER_TICK, "load.tick_ms": TICK_MS, "load.burner_threads": threads } };
}

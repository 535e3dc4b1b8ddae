// Per-event cost: a combat mod (state of N fighters; lookup, damage, Math.random crit, small
// result), single awaited emits and 1000-event batches, inline and process isolation, against the
// same logic called natively; plus a breakdown (no-op handler, checkpoints off, bare isolated-vm
// call, bare IPC round trip) of where the single-event time goes.
//
// Side by side: the same mod, state and payloads run by every peer (benchmarks/peers/): a naive
// isolated-vm loader, quickjs-emscripten, node:vm, and native host code. Every runner is measured
// in rounds, taking turns (the native floor too), so that load from elsewhere on the machine falls
// on all of them alike. A peer's single emit is one synchronous call; its batch is one call per mod
// carrying the whole batch as JSON (the nearest thing to modhost's batching of pending emits).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { COMBAT_LIMITS, COMBAT_LOGIC, NOOP_MOD, attackPayloads, combatMod, makeModsDir, nativeCombat } from "./lib/fixtures.js";
import { putRatio, roundRobin } from "./lib/compare.js";
import { createHost, noteFailedResult, noteFailure } from "./lib/failures.js";
import { loadIsolatedVm } from "./lib/ivm.js";
import { cpuNsOf, selfCpuNs } from "./lib/machine.js";
import { nowNs, percentile, record, recordValue, round, tick } from "./lib/stats.js";
import { PEERS, createRunner } from "./peers/index.js";
import { importEngineModule, loadModhost } from "./lib/engine.js";

export const name = "event-cost";

function sizes(quick) {
  return quick
    ? { entities: 1000, rounds: 2, warmSingle: 100, single: { inline: 200, process: 100, peer: 200 }, warmBatches: 1, batches: { inline: 3, process: 2, peer: 3 }, batchSize: 1000, nativeCalls: 20_000, ivmCalls: 1000, ivmRuns: 3, echo: 100 }
    : { entities: 10_000, rounds: 20, warmSingle: 3000, single: { inline: 20_000, process: 5000, peer: 20_000 }, warmBatches: 5, batches: { inline: 60, process: 40, peer: 60 }, batchSize: 1000, nativeCalls: 200_000, ivmCalls: 20_000, ivmRuns: 15, echo: 3000 };
}

/**
 * CPU time per event over a stretch of work: this process (all threads) and, for process
 * isolation, the sandbox process (all threads). Robust to other load on the machine, unlike wall
 * time.
 */
function cpuMeter(host) {
  const read = () => {
    const pid = host.sandboxPid;
    return { pid, self: selfCpuNs(), sandbox: pid === undefined ? 0 : cpuNsOf(pid) };
  };
  return {
    samples: { host: [], sandbox: [] },
    start() {
      this.at = read();
    },
    stop(events) {
      const now = read();
      // A sandbox restarted in between (its supervisor gave up on it on a starved machine): the
      // two readings are of different processes, so this stretch has no sandbox figure.
      if (now.pid !== this.at.pid || now.sandbox === undefined || this.at.sandbox === undefined) {
        noteFailure("event.cpu_sandbox_restarted", `sandbox ${this.at.pid} -> ${now.pid}`);
        return;
      }
      this.samples.host.push((now.self - this.at.self) / events);
      this.samples.sandbox.push((now.sandbox - this.at.sandbox) / events);
    },
  };
}

/** Round-trip time of each awaited emit (us), and CPU per event (ns) over chunks of emits. */
async function singleEmits(host, event, payloads, count, chunk = 500) {
  const samples = new Array(count);
  const cpu = cpuMeter(host);
  for (let from = 0; from < count; from += chunk) {
    const to = Math.min(count, from + chunk);
    cpu.start();
    for (let i = from; i < to; i++) {
      const payload = payloads[i % payloads.length];
      const t0 = nowNs();
      const results = await host.emit(event, payload);
      samples[i] = (nowNs() - t0) / 1000;
      if (results.length !== 1) throw new Error(`emit ${event}: ${JSON.stringify(results)}`);
      if (!results[0].ok) noteFailedResult(host.sandboxPid === undefined ? "inline" : "process", results[0]);
    }
    cpu.stop(to - from);
  }
  return { wall: samples, cpu: cpu.samples };
}

/** Per run: emit `size` events without awaiting, then await all; ns per event (wall and CPU). */
async function batchedEmits(host, event, payloads, runs, size) {
  const samples = [];
  const cpu = cpuMeter(host);
  for (let r = 0; r < runs; r++) {
    const pending = new Array(size);
    cpu.start();
    const t0 = nowNs();
    for (let i = 0; i < size; i++) pending[i] = host.emit(event, payloads[i % payloads.length]);
    const all = await Promise.all(pending);
    samples.push((nowNs() - t0) / size);
    cpu.stop(size);
    if (all.length !== size) throw new Error(`batched ${event}: ${all.length} results`);
    for (const results of all) if (!results[0]?.ok) noteFailedResult(host.sandboxPid === undefined ? "inline" : "process", results[0]);
    await tick();
  }
  return { wall: samples, cpu: cpu.samples };
}

/**
 * The native floor: the same handler on the same kind of state, called directly. Returns a
 * sampler: each call runs `calls` calls and returns ns per call (the first call warms the JIT up).
 */
function nativeFloor(entities, calls) {
  const { state, attack } = nativeCombat(entities);
  const payloads = attackPayloads(entities, 1000);
  let sink = 0;
  const once = (n) => {
    for (let i = 0; i < n; i++) sink += attack(state, payloads[i % 1000]).damage;
  };
  once(calls); // warm up (JIT)
  return () => {
    const t0 = nowNs();
    once(calls);
    const ns = (nowNs() - t0) / calls;
    if (sink === 0) throw new Error("native floor optimised away");
    return ns;
  };
}

/** A peer's single emits: one synchronous call each (us per call). */
function peerSingles(loader, payloads, count, offset = 0) {
  const samples = new Array(count);
  for (let i = 0; i < count; i++) {
    const payload = payloads[(offset + i) % payloads.length];
    const t0 = nowNs();
    const results = loader.emit("attack", payload);
    samples[i] = (nowNs() - t0) / 1000;
    if (results.length !== 1) throw new Error(`${loader.constructor.peer} emit: ${JSON.stringify(results)}`);
    if (!results[0].ok) noteFailedResult(loader.constructor.peer, results[0]);
  }
  return samples;
}

/** A peer's batch: `size` events in one emitBatch (one call per mod); ns per event. */
function peerBatch(loader, events) {
  const t0 = nowNs();
  const all = loader.emitBatch(events);
  const ns = (nowNs() - t0) / events.length;
  if (all.length !== events.length) throw new Error(`${loader.constructor.peer} batch: ${all.length} results`);
  for (const results of all) if (!results[0]?.ok) noteFailedResult(loader.constructor.peer, results[0]);
  return ns;
}

/**
 * A bare isolated-vm call shaped like the engine's dispatch (JSON string in, JSON string out,
 * the handler inside), with the options the engine passes (timeout and arguments.copy), with
 * each of them left out, and with neither.
 */
function ivmFloor(entities, runs, calls) {
  const ivm = loadIsolatedVm();
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  try {
    const context = isolate.createContextSync();
    const source = `${COMBAT_LOGIC}
      const state = { entities: makeEntities(${entities}), rounds: 0 };
      (function dispatch(batchJson, sliceMs) {
        const events = JSON.parse(batchJson);
        const e = events[0];
        return '{"done":1,"results":[{"ok":true,"value":' + JSON.stringify(attack(state, e[2])) + '}]}';
      })`;
    const fn = isolate.compileScriptSync(source).runSync(context, { reference: true });
    const payloads = attackPayloads(entities, 1000).map((p, i) => `[[${i},"attack",${JSON.stringify(p)},${Date.now()}]]`);
    const variants = {
      engine: { timeout: 55, arguments: { copy: true } },
      nocopy: { timeout: 55 },
      notimeout: { arguments: { copy: true } },
      bare: undefined,
    };
    const out = {};
    for (const [key, options] of Object.entries(variants)) {
      const once = (n) => {
        for (let i = 0; i < n; i++) {
          try {
            fn.applySync(undefined, [payloads[i % 1000], 5], options);
          } catch (err) {
            // Wall-clock limit: a starved thread on a busy machine can overrun 55 ms. Counted, not fatal.
            if (!/timed out/.test(String(err?.message))) throw err;
            noteFailure(`ivm_floor:${key}:E_TIMEOUT`, err.message);
          }
        }
      };
      once(calls);
      const samples = [];
      for (let r = 0; r < runs; r++) {
        const t0 = nowNs();
        once(calls);
        samples.push((nowNs() - t0) / calls / 1000);
      }
      out[key] = samples;
    }
    fn.release();
    context.release();
    return out;
  } finally {
    isolate.dispose();
  }
}

/** Round trip of one small request frame to a child that echoes it (the sandbox's I/O pattern). */
async function ipcFloor(count) {
  // The engine's own framing, as the sandbox process and the host frame their pipes.
  const { FrameDecoder, encodeFrame } = await importEngineModule("backends/framing.js");
  const child = spawn(process.execPath, [fileURLToPath(new URL("./lib/echo-child.js", import.meta.url))], {
    stdio: ["ignore", "ignore", "inherit", "pipe", "pipe"],
  });
  const toChild = child.stdio[3];
  const fromChild = child.stdio[4];
  let waiting;
  const replies = new FrameDecoder((json) => waiting?.(JSON.parse(json)));
  fromChild.on("data", (chunk) => replies.push(chunk));
  const payload = JSON.stringify(attackPayloads(1000, 1)[0]);
  const roundTrip = (id) =>
    new Promise((resolve) => {
      waiting = resolve;
      toChild.write(encodeFrame(JSON.stringify([{ op: "dispatch", id, instance: "p1:combat#1", events: [{ seq: id, name: "attack", payload, now: Date.now() }], replay: false }])));
    });
  const samples = [];
  for (let i = 0; i < count + Math.min(500, count); i++) {
    const t0 = nowNs();
    await roundTrip(i);
    if (i >= Math.min(500, count)) samples.push((nowNs() - t0) / 1000);
  }
  toChild.end();
  await new Promise((resolve) => child.once("exit", resolve));
  return samples;
}

/** Records the single and batched wall times and CPU of a modhost runner under `<label><isolation>`. */
function recordModhost(metrics, counts, label, isolation, single, batched) {
  record(metrics, `event.single.${label}${isolation}_us`, single.wall, counts);
  const summary = record(metrics, `event.batched.${label}${isolation}_ns`, batched.wall, counts);
  const sides = isolation === "process" ? ["host", "sandbox"] : ["host"];
  for (const side of sides) {
    record(metrics, `event.cpu.single.${label}${isolation}_${side}_us`, single.cpu[side].map((ns) => ns / 1000), counts);
    record(metrics, `event.cpu.batched.${label}${isolation}_${side}_ns`, batched.cpu[side], counts);
  }
  return summary;
}

/** Appends a singleEmits/batchedEmits result to an accumulator. */
function append(into, part) {
  into.wall.push(...part.wall);
  for (const side of ["host", "sandbox"]) into.cpu[side].push(...part.cpu[side]);
}

const emptySamples = () => ({ wall: [], cpu: { host: [], sandbox: [] } });

/**
 * Every runner on the combat mod, taking turns: warm-up, then `s.rounds` rounds of single emits
 * (each runner's share of its total), then rounds of one 1000-event batch each, with a native
 * floor sample per batch round.
 */
async function sideBySide(ModHost, s, combat, peers, metrics, counts) {
  const payloads = attackPayloads(s.entities, 1000);
  const batchEvents = payloads.map((p) => ["attack", p]);
  const runners = [];
  try {
    for (const isolation of ["inline", "process"]) {
      // Default options: a checkpoint (state export) every 1000 events, as shipped.
      const host = await createHost(ModHost, { modsDir: combat.dir, isolation, typecheck: "off" });
      runners.push({ name: isolation, host, single: emptySamples(), batched: emptySamples() });
    }
    for (const peer of peers) {
      const loader = await createRunner(peer, { combat: combatMod(s.entities) }, { limits: COMBAT_LIMITS });
      runners.push({ name: peer, loader, single: [], batched: [] });
    }
    const floor = nativeFloor(s.entities, s.nativeCalls);
    const nativeSamples = [];

    for (const r of runners) {
      if (r.host) {
        await singleEmits(r.host, "attack", payloads, s.warmSingle);
        await batchedEmits(r.host, "attack", payloads, s.warmBatches, s.batchSize);
      } else {
        peerSingles(r.loader, payloads, s.warmSingle);
        for (let b = 0; b < s.warmBatches; b++) peerBatch(r.loader, batchEvents);
      }
    }
    for (let round = 0; round < s.rounds; round++) {
      await roundRobin(runners, round, async (r) => {
        if (r.host) append(r.single, await singleEmits(r.host, "attack", payloads, Math.ceil(s.single[r.name] / s.rounds)));
        else r.single.push(...peerSingles(r.loader, payloads, Math.ceil(s.single.peer / s.rounds), round * 7919));
        await tick();
      });
    }
    const batchRounds = Math.max(s.batches.inline, s.batches.process, s.batches.peer);
    for (let round = 0; round < batchRounds; round++) {
      await roundRobin(runners, round, async (r) => {
        if (r.host) {
          if (round < s.batches[r.name]) append(r.batched, await batchedEmits(r.host, "attack", payloads, 1, s.batchSize));
        } else if (round < s.batches.peer) {
          r.batched.push(peerBatch(r.loader, batchEvents));
          await tick();
        }
      });
      nativeSamples.push(floor());
    }

    const native = record(metrics, "event.native_ns", nativeSamples, counts);
    record(metrics, "native.event_ns", nativeSamples, counts);
    for (const r of runners) {
      if (r.host) {
        const isolation = r.name;
        const summary = recordModhost(metrics, counts, "", isolation, r.single, r.batched);
        record(metrics, `event.batched.eps_${isolation}`, r.batched.wall.map((ns) => 1e9 / ns), counts);
        // For events/s the slow tail is the low end: report the 1st percentile as ".p99".
        metrics[`event.batched.eps_${isolation}.p99`] = round(1e9 / summary.p99);
        const suffix = isolation === "inline" ? "" : "_process";
        recordValue(metrics, `event.batched.ratio_native${suffix}`, summary.median / native.median, summary.p99 / native.median);
        const single = { p50: percentile(r.single.wall, 50) * 1000, p99: percentile(r.single.wall, 99) * 1000 };
        putRatio(metrics, `event.single.ratio_native${suffix}`, single, native.median);
      } else {
        const p = r.name;
        const single = record(metrics, `${p}.event.single_us`, r.single, counts);
        const batched = record(metrics, `${p}.event.batched_ns`, r.batched, counts);
        record(metrics, `${p}.event.batched.eps`, r.batched.map((ns) => 1e9 / ns), counts);
        metrics[`${p}.event.batched.eps.p99`] = round(1e9 / batched.p99);
        putRatio(metrics, `${p}.event.batched.ratio_native`, { p50: batched.median, p99: batched.p99 }, native.median);
        putRatio(metrics, `${p}.event.single.ratio_native`, { p50: single.median * 1000, p99: single.p99 * 1000 }, native.median);
      }
    }
  } finally {
    for (const r of runners) {
      if (r.host) await r.host.close();
      else await r.loader.close();
    }
  }
}

/** Warm-up, then single and batched emits of one modhost variant (the breakdown). */
async function measure(host, { label, isolation, event, payloads, s, metrics, counts }) {
  await singleEmits(host, event, payloads, s.warmSingle);
  const single = await singleEmits(host, event, payloads, s.single[isolation]);
  await batchedEmits(host, event, payloads, s.warmBatches, s.batchSize);
  const batched = await batchedEmits(host, event, payloads, s.batches[isolation], s.batchSize);
  recordModhost(metrics, counts, label, isolation, single, batched);
}

export async function run({ quick, peers = PEERS }) {
  const { ModHost } = await loadModhost();
  const s = sizes(quick);
  const metrics = {};
  const counts = {};
  const combat = await makeModsDir({ combat: combatMod(s.entities) }, { limits: COMBAT_LIMITS });
  const noop = await makeModsDir({ noop: NOOP_MOD });
  const payloads = attackPayloads(s.entities, 1000);
  try {
    await sideBySide(ModHost, s, combat, peers, metrics, counts);
    for (const isolation of ["inline", "process"]) {
      const common = { isolation, s, metrics, counts };
      // Breakdown: the engine's own cost, with a handler that does nothing (tiny state, null payload).
      let host = await createHost(ModHost, { modsDir: noop.dir, isolation, typecheck: "off" });
      try {
        await measure(host, { ...common, label: "noop_", event: "noop", payloads: [null] });
      } finally {
        await host.close();
      }
      // Breakdown: the combat mod with checkpoints (a state export every 1000 events) out of reach.
      host = await createHost(ModHost, { modsDir: combat.dir, isolation, typecheck: "off", checkpointEvery: 1_000_000_000 });
      try {
        await measure(host, { ...common, label: "nocheckpoint_", event: "attack", payloads });
      } finally {
        await host.close();
      }
    }
  } finally {
    await combat.cleanup();
    await noop.cleanup();
  }

  const ivm = ivmFloor(s.entities, s.ivmRuns, s.ivmCalls);
  record(metrics, "event.breakdown.ivm_call_us", ivm.engine, counts);
  record(metrics, "event.breakdown.ivm_call_nocopy_us", ivm.nocopy, counts);
  record(metrics, "event.breakdown.ivm_call_notimeout_us", ivm.notimeout, counts);
  record(metrics, "event.breakdown.ivm_call_bare_us", ivm.bare, counts);
  record(metrics, "event.breakdown.ipc_roundtrip_us", await ipcFloor(s.echo), counts);
  return { metrics, counts, params: { "event.entities": s.entities, "event.batch_size": s.batchSize, "event.peers": peers.join(",") } };
}

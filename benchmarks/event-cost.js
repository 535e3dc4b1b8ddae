// Per-event cost: a combat mod (state of N fighters; lookup, damage, Math.random crit, small
// result), single awaited emits and 1000-event batches, inline and process isolation, against the
// same logic called natively; plus a breakdown (no-op handler, checkpoints off, bare isolated-vm
// call, bare IPC round trip) of where the single-event time goes.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { COMBAT_LOGIC, NOOP_MOD, attackPayloads, combatMod, makeModsDir, nativeCombat } from "./lib/fixtures.js";
import { nowNs, record, recordValue, round, tick } from "./lib/stats.js";

export const name = "event-cost";

function sizes(quick) {
  return quick
    ? { entities: 100, warmSingle: 200, single: { inline: 300, process: 150 }, warmBatches: 1, batches: { inline: 4, process: 3 }, batchSize: 1000, nativeRuns: 5, nativeCalls: 20_000, ivmCalls: 2000, ivmRuns: 3, echo: 150 }
    : { entities: 1000, warmSingle: 3000, single: { inline: 20_000, process: 5000 }, warmBatches: 5, batches: { inline: 60, process: 40 }, batchSize: 1000, nativeRuns: 30, nativeCalls: 200_000, ivmCalls: 20_000, ivmRuns: 15, echo: 3000 };
}

/** Round-trip time of each awaited emit, in microseconds. */
async function singleEmits(host, event, payloads, count) {
  const samples = new Array(count);
  for (let i = 0; i < count; i++) {
    const payload = payloads[i % payloads.length];
    const t0 = nowNs();
    const results = await host.emit(event, payload);
    samples[i] = (nowNs() - t0) / 1000;
    if (results.length !== 1 || !results[0].ok) throw new Error(`emit ${event} failed: ${JSON.stringify(results)}`);
  }
  return samples;
}

/** Per run: emit `size` events without awaiting, then await all; ns per event. */
async function batchedEmits(host, event, payloads, runs, size) {
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const pending = new Array(size);
    const t0 = nowNs();
    for (let i = 0; i < size; i++) pending[i] = host.emit(event, payloads[i % payloads.length]);
    const all = await Promise.all(pending);
    samples.push((nowNs() - t0) / size);
    if (all.length !== size || !all[size - 1][0]?.ok) throw new Error(`batched ${event} failed`);
    await tick();
  }
  return samples;
}

/** The native floor: the same handler on the same kind of state, called directly (ns per call). */
function nativeFloor(entities, runs, calls) {
  const { state, attack } = nativeCombat(entities);
  const payloads = attackPayloads(entities, 1000);
  let sink = 0;
  const once = (n) => {
    for (let i = 0; i < n; i++) sink += attack(state, payloads[i % 1000]).damage;
  };
  once(calls); // warm up (JIT)
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const t0 = nowNs();
    once(calls);
    samples.push((nowNs() - t0) / calls);
  }
  if (sink === 0) throw new Error("native floor optimised away");
  return samples;
}

/**
 * A bare isolated-vm call shaped like the engine's dispatch (JSON string in, JSON string out,
 * the handler inside), with and without the options the engine passes (timeout, copy).
 */
function ivmFloor(entities, runs, calls) {
  const require = createRequire(new URL("../engine/package.json", import.meta.url));
  const ivm = require("isolated-vm");
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
      notimeout: { arguments: { copy: true } },
      bare: undefined,
    };
    const out = {};
    for (const [key, options] of Object.entries(variants)) {
      const once = (n) => {
        for (let i = 0; i < n; i++) fn.applySync(undefined, [payloads[i % 1000], 5], options);
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
  const child = spawn(process.execPath, [fileURLToPath(new URL("./lib/echo-child.js", import.meta.url))], {
    stdio: ["ignore", "ignore", "inherit", "pipe", "pipe"],
  });
  const toChild = child.stdio[3];
  const fromChild = child.stdio[4];
  let waiting;
  let buffered = Buffer.alloc(0);
  fromChild.on("data", (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32LE(0)) {
      const size = buffered.readUInt32LE(0);
      const json = buffered.toString("utf8", 4, 4 + size);
      buffered = buffered.subarray(4 + size);
      waiting?.(JSON.parse(json));
    }
  });
  const payload = JSON.stringify(attackPayloads(1000, 1)[0]);
  const roundTrip = (id) =>
    new Promise((resolve) => {
      waiting = resolve;
      const body = Buffer.from(JSON.stringify([{ op: "dispatch", id, instance: "p1:combat#1", events: [{ seq: id, name: "attack", payload, now: Date.now() }], replay: false }]));
      const frame = Buffer.allocUnsafe(4 + body.length);
      frame.writeUInt32LE(body.length, 0);
      body.copy(frame, 4);
      toChild.write(frame);
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

export async function run({ quick }) {
  const { ModHost } = await import("modhost");
  const s = sizes(quick);
  const metrics = {};
  const counts = {};
  const combat = await makeModsDir({ combat: combatMod(s.entities) });
  const noop = await makeModsDir({ noop: NOOP_MOD });
  const payloads = attackPayloads(s.entities, 1000);
  const batched = {};
  try {
    for (const isolation of ["inline", "process"]) {
      // The combat mod, default options (a checkpoint every 1000 events, as shipped).
      let host = await ModHost.create({ modsDir: combat.dir, isolation });
      try {
        await singleEmits(host, "attack", payloads, s.warmSingle);
        record(metrics, `event.single.${isolation}_us`, await singleEmits(host, "attack", payloads, s.single[isolation]), counts);
        await batchedEmits(host, "attack", payloads, s.warmBatches, s.batchSize);
        const ns = await batchedEmits(host, "attack", payloads, s.batches[isolation], s.batchSize);
        batched[isolation] = record(metrics, `event.batched.${isolation}_ns`, ns, counts);
        record(metrics, `event.batched.eps_${isolation}`, ns.map((x) => 1e9 / x), counts);
        // eps: the p99 key is the slow tail (1st percentile of events/s), not the 99th.
        const eps = ns.map((x) => 1e9 / x).sort((a, b) => a - b);
        metrics[`event.batched.eps_${isolation}.p99`] = round(eps[Math.floor((eps.length - 1) * 0.01)]);
      } finally {
        await host.close();
      }

      // Breakdown: the engine's own cost with a handler that does nothing (tiny state, no payload).
      host = await ModHost.create({ modsDir: noop.dir, isolation });
      try {
        await singleEmits(host, "noop", [null], s.warmSingle);
        record(metrics, `event.single.noop_${isolation}_us`, await singleEmits(host, "noop", [null], s.single[isolation]), counts);
        await batchedEmits(host, "noop", [null], s.warmBatches, s.batchSize);
        record(metrics, `event.batched.noop_${isolation}_ns`, await batchedEmits(host, "noop", [null], s.batches[isolation], s.batchSize), counts);
      } finally {
        await host.close();
      }

      // Breakdown: the combat mod with checkpoints (state export every 1000 events) turned off.
      host = await ModHost.create({ modsDir: combat.dir, isolation, checkpointEvery: 1_000_000_000 });
      try {
        await singleEmits(host, "attack", payloads, s.warmSingle);
        record(metrics, `event.single.nocheckpoint_${isolation}_us`, await singleEmits(host, "attack", payloads, s.single[isolation]), counts);
        await batchedEmits(host, "attack", payloads, s.warmBatches, s.batchSize);
        record(metrics, `event.batched.nocheckpoint_${isolation}_ns`, await batchedEmits(host, "attack", payloads, s.batches[isolation], s.batchSize), counts);
      } finally {
        await host.close();
      }
    }
  } finally {
    await combat.cleanup();
    await noop.cleanup();
  }

  const native = record(metrics, "event.native_ns", nativeFloor(s.entities, s.nativeRuns, s.nativeCalls), counts);
  recordValue(metrics, "event.batched.ratio_native", batched.inline.median / native.median, batched.inline.p99 / native.median);
  recordValue(metrics, "event.batched.ratio_native_process", batched.process.median / native.median, batched.process.p99 / native.median);

  const ivm = ivmFloor(s.entities, s.ivmRuns, s.ivmCalls);
  record(metrics, "event.breakdown.ivm_call_us", ivm.engine, counts);
  record(metrics, "event.breakdown.ivm_call_notimeout_us", ivm.notimeout, counts);
  record(metrics, "event.breakdown.ivm_call_bare_us", ivm.bare, counts);
  record(metrics, "event.breakdown.ipc_roundtrip_us", await ipcFloor(s.echo), counts);
  metrics["event.entities"] = s.entities;
  return { metrics, counts };
}

// Tick: a game's frame with 100 mods. Each tick sends `events` attacks (10, then 1000) and waits
// until every one of the 100 combat mods (100 entities each) has answered all of them; every
// runner (modhost process and inline, each peer) in one fresh process, ticks taking turns between
// runners (A B C ... A B C, the starting one rotating) so a drifting machine load hits all alike.
// modhost is driven two ways: an emit() loop (every emit, then await all), and, where the engine
// has it, the tick API `host.emitMany(events)` (feature-detected; params["tick.emitMany"] says).
//
//   tick.ev<E>.eps_<isolation> / <peer>.tick.ev<E>.eps            events/s (each answered by every mod);
//                                                                 .p99 is the 1st percentile
//   tick.ev<E>.cpu_us_<isolation> / <peer>.tick.ev<E>.cpu_us      CPU time per mod-event (µs): this
//                                                                 process + the sandbox process(es)
//   tick.ev<E>.emitmany.eps_<isolation>, .emitmany.cpu_us_<isolation>   the same through emitMany
//   tick.ev10.steady.* / <peer>.tick.ev10.steady.*               the same figures for 10-event ticks
//                                                                 after `steadyWarm` more ticks each
//   naive_ivm_process.tick.*                                      the naive loader behind a process
//                                                                 boundary, one frame each way per tick
//                                                                 (run with the naive loader): the least
//                                                                 crossing a process costs
//   tick.ev<E>.[steady.][emitmany.]<eps|cpu_us>_process.ratio_naive_process   modhost (process) over it
//
// A full run measures in `PROCESSES` fresh processes one after another and pools their samples:
// with 100 isolates per runner, a runner's speed is drawn once per process (the same build read
// 3.70 µs per mod-event against the naive loader's 5.26 in one process, 5.56 against 3.25 in
// another; finding 16), so one process's ratio says more about that draw than about the runners.
// Pooled, a tail (.p99) also spans the spread between processes. Five, not three (session 20):
// the same engine's warm 100-mod inline ratio read 0.89x and 0.995x on the two Nodes of one run
// and 0.98x / 0.90x in the run before, with the naive loader's own figure moving 10-15 %.
//
// The ev10/ev1000 figures follow a 1-tick warm-up: with 100 isolates, each compiles its own
// optimized code during them, so they include V8's tier-up (background compiler threads). The
// steady figures are measured after every runner ran `steadyWarm` further 10-event ticks (on top
// of the ev10 and ev1000 rounds), when that compiling is done: the per-event cost that stays.
//
// CPU time is the figure to compare on a loaded machine (wall time includes waiting for a core).
import { performance } from "node:perf_hooks";
import { noteFailure, noteFailedResult, takeFailures } from "./lib/failures.js";
import { COMBAT_LIMITS, attackPayloads, combatMod, modSet } from "./lib/fixtures.js";
import { cpuNsOfAll, processPidsOf, selfCpuNs } from "./lib/machine.js";
import { runChild } from "./lib/spawn.js";
import { percentile, record, round } from "./lib/stats.js";
import { PEERS, createRunner } from "./peers/index.js";

export const name = "tick";

/** Events per tick, as labelled in the keys. */
export const TICK_EVENTS = [10, 1000];
/** Events per tick of the steady-state figures (tick.ev10.steady.*). */
const STEADY_EVENTS = 10;
/** Fresh processes a full run measures in, one after another (see the header). */
const PROCESSES = 5;

function sizes(quick) {
  // rounds: ticks per runner at most; budgetMs: stop earlier once a size has taken this long
  // (at least minRounds each), so a slow peer or a starved machine cannot stretch the run: a
  // 1000-event tick is 100,000 mod-events, seconds per runner even on a quiet machine. The
  // 1000-event ticks get two of their own first: the 10-event ticks did not run the same code
  // (on Node 24 a host's first 1000-event emitMany ticks took 2-3x the CPU of its later ones, and
  // with 5 rounds they were the median: 7.02 against 3.06 us per mod-event for the emit loop).
  return quick
    ? { mods: 3, entities: 50, warm: { 10: 1, 1000: 1 }, rounds: { 10: 3, 1000: 2 }, minRounds: { 10: 2, 1000: 1 }, budgetMs: { 10: 3000, 1000: 5000 }, steadyWarm: 5, steadyBudgetMs: 3000 }
    : { mods: 100, entities: 100, warm: { 10: 1, 1000: 2 }, rounds: { 10: 40, 1000: 7 }, minRounds: { 10: 3, 1000: 1 }, budgetMs: { 10: 15_000, 1000: 30_000 }, steadyWarm: 150, steadyBudgetMs: 15_000 };
}

/**
 * `<peer>.tick.ev<E>.[steady.]<what>`, or `tick.ev<E>.[steady.][emitmany.]<what>_<isolation>` for
 * modhost; `phase` "steady" for the figures after the long warm-up (see the header).
 */
export function tickKey(participant, events, what, phase = "") {
  const [runner, via] = participant.split(":");
  const p = phase === "" ? "" : `${phase}.`;
  if (runner === "process" || runner === "inline") return `tick.ev${events}.${p}${via === "many" ? "emitmany." : ""}${what}_${runner}`;
  return `${runner}.tick.ev${events}.${p}${what}`;
}

/** A line on stderr (the parent shows it if the child fails, e.g. past its time limit). */
const progress = (line) => process.stderr.write(`[tick] ${line}\n`);

/** The ways to drive each runner: modhost's emit loop and (if the engine has it) emitMany. Shared with pool.js. */
export function participants(live) {
  const out = [];
  for (const [runner, loader] of Object.entries(live)) {
    out.push({ id: runner, loader, emit: (events) => loader.emitBatch(events) });
    if (typeof loader.host?.emitMany === "function") {
      out.push({ id: `${runner}:many`, loader, emit: (events) => loader.host.emitMany(events.map(([event, payload]) => ({ event, payload }))) });
    }
  }
  return out;
}

/**
 * One tick through `p`: { ms, cpuNs }, or undefined if a sandbox process was replaced meanwhile
 * (counted as a failure `<bench>:<participant>:sandbox_replaced`). Shared with pool.js.
 */
export async function oneTick(p, events, mods, bench = "tick") {
  const pids = processPidsOf(p.loader);
  const sandbox0 = cpuNsOfAll(pids);
  const cpu0 = selfCpuNs();
  const t0 = performance.now();
  let all = p.emit(events);
  if (all instanceof Promise) all = await all;
  const ms = performance.now() - t0;
  const cpu1 = selfCpuNs();
  const sandbox1 = cpuNsOfAll(pids);
  if (all.length !== events.length) throw new Error(`${p.id}: ${all.length} result lists for ${events.length} events`);
  for (const results of all) {
    if (results.length !== mods) throw new Error(`${p.id}: ${results.length} results, not ${mods}`);
    for (const r of results) if (!r.ok) noteFailedResult(p.id, r);
  }
  const now = processPidsOf(p.loader);
  if (sandbox0 === undefined || sandbox1 === undefined || now.join(",") !== pids.join(",")) {
    // The sandbox process was restarted mid-tick: its CPU time is lost with it.
    noteFailure(`${bench}:${p.id}:sandbox_replaced`, pids);
    return undefined;
  }
  return { ms, cpuNs: cpu1 - cpu0 + (sandbox1 - sandbox0) };
}

/** Ticks of `events` taking turns between the participants: { [id]: { eps: [], cpuUs: [] } }. Shared with pool.js. */
export async function measure(list, events, mods, rounds, minRounds, budgetMs, bench = "tick") {
  const samples = Object.fromEntries(list.map((p) => [p.id, { eps: [], cpuUs: [] }]));
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    if (round >= minRounds && performance.now() - started > budgetMs) break;
    for (let k = 0; k < list.length; k++) {
      const p = list[(round + k) % list.length];
      const r = await oneTick(p, events, mods, bench);
      if (r === undefined) continue;
      samples[p.id].eps.push((events.length * 1000) / r.ms);
      samples[p.id].cpuUs.push(r.cpuNs / 1000 / (events.length * mods));
    }
  }
  return samples;
}

/** In a fresh process: every runner over the same 100 mods, ticks taking turns (see the header). */
export async function child({ runners, quick }) {
  const s = sizes(quick);
  const live = {};
  const out = { emitMany: false, samples: {} };
  try {
    for (const runner of runners) {
      const t0 = performance.now();
      live[runner] = await createRunner(runner, modSet("combat", s.mods, () => combatMod(s.entities)), { limits: COMBAT_LIMITS });
      progress(`${runner}: ${s.mods} mods loaded in ${Math.round(performance.now() - t0)} ms`);
    }
    const list = participants(live);
    out.emitMany = list.some((p) => p.id.endsWith(":many"));
    for (const count of TICK_EVENTS) {
      const events = attackPayloads(s.entities, count).map((payload) => ["attack", payload]);
      for (const p of list) for (let i = 0; i < s.warm[count]; i++) await oneTick(p, events, s.mods);
      const samples = await measure(list, events, s.mods, s.rounds[count], s.minRounds[count], s.budgetMs[count]);
      out.samples[count] = samples;
      progress(`${count} events per tick: ${Math.min(...Object.values(samples).map((x) => x.eps.length))} rounds`);
    }
    // Steady state: the same 10-event ticks after a long warm-up of every runner (see the header).
    const events = attackPayloads(s.entities, STEADY_EVENTS).map((payload) => ["attack", payload]);
    for (let i = 0; i < s.steadyWarm; i++) for (const p of list) await oneTick(p, events, s.mods);
    out.steady = await measure(list, events, s.mods, s.rounds[STEADY_EVENTS], s.minRounds[STEADY_EVENTS], s.steadyBudgetMs);
    progress(`steady, ${STEADY_EVENTS} events per tick after ${s.steadyWarm} more: ${Math.min(...Object.values(out.steady).map((x) => x.eps.length))} rounds`);
  } finally {
    for (const loader of Object.values(live)) await loader.close();
  }
  // In a child process (not --quick, which runs this in run.js's process) its failure counts go
  // back to the parent, which reports them.
  out.failures = quick ? {} : takeFailures();
  return out;
}

/** Adds participants' samples ({ [id]: { eps, cpuUs } }) from `from` into `into`. Shared with pool.js. */
export function mergeSamples(into, from) {
  for (const [id, { eps, cpuUs }] of Object.entries(from ?? {})) {
    into[id] ??= { eps: [], cpuUs: [] };
    into[id].eps.push(...eps);
    into[id].cpuUs.push(...cpuUs);
  }
  return into;
}

/**
 * Counts a child process's failures here, in the parent, each kind by its total: the children
 * each stop at noteFailure's limit, their sum must not stop the run. Shared with pool.js.
 */
export function noteChildFailures(failures, bench) {
  for (const [kind, n] of Object.entries(failures ?? {})) for (let i = 0; i < n; i++) noteFailure(kind, `in the ${bench} child process`, Number.POSITIVE_INFINITY);
}

/**
 * Records participants' samples as `keyOf(id, "eps" | "cpu_us")` medians and tails; for events/s
 * the slow tail is the low end, so its ".p99" is the 1st percentile. Shared with pool.js.
 */
export function recordTicks(metrics, counts, samples, keyOf) {
  for (const [id, { eps, cpuUs }] of Object.entries(samples)) {
    if (eps.length === 0) continue; // every tick lost to a restart: counted in failures
    const epsKey = keyOf(id, "eps");
    record(metrics, epsKey, eps, counts);
    metrics[`${epsKey}.p99`] = round(percentile(eps, 1));
    record(metrics, keyOf(id, "cpu_us"), cpuUs, counts);
  }
}

/**
 * `tick.ev<E>.[steady.][emitmany.]<eps|cpu_us>_process.ratio_naive_process`: modhost in process
 * isolation over the naive loader behind a process boundary, the least that crossing costs
 * (medians of the same run; events/s above 1 is ahead, CPU below 1 is).
 */
export function processFloorRatios(metrics) {
  const out = {};
  for (const [events, phase] of [...TICK_EVENTS.map((e) => [e, ""]), [STEADY_EVENTS, "steady"]]) {
    for (const what of ["eps", "cpu_us"]) {
      const floor = metrics[tickKey("naive_ivm_process", events, what, phase)];
      if (typeof floor !== "number" || floor === 0) continue;
      for (const id of ["process", "process:many"]) {
        const key = tickKey(id, events, what, phase);
        if (typeof metrics[key] === "number") out[`${key}.ratio_naive_process`] = round(metrics[key] / floor);
      }
    }
  }
  return out;
}

/** Pools the samples of several children's results (the same participants in each). */
function pooled(results) {
  const out = { emitMany: results.some((r) => r.emitMany), samples: {}, failures: {} };
  for (const r of results) {
    for (const [count, samples] of Object.entries(r.samples)) mergeSamples((out.samples[count] ??= {}), samples);
    if (r.steady !== undefined) mergeSamples((out.steady ??= {}), r.steady);
    for (const [kind, n] of Object.entries(r.failures ?? {})) out.failures[kind] = (out.failures[kind] ?? 0) + n;
  }
  return out;
}

export async function run({ quick, peers = PEERS }) {
  const s = sizes(quick);
  // With the naive loader, the same loader behind a process boundary (peers/naive-ivm-process.js):
  // what crossing a process costs at the least, the floor of modhost's process figures.
  const runners = ["process", "inline", ...peers, ...(peers.includes("naive_ivm") ? ["naive_ivm_process"] : [])];
  // --quick: in this process, as scale does (one node process fewer booting during the smoke run).
  const results = [];
  if (quick) results.push(await child({ runners, quick }));
  else for (let i = 0; i < PROCESSES; i++) results.push(await runChild(name, { runners, quick }, 900_000));
  const result = pooled(results);
  noteChildFailures(result.failures, name);
  const metrics = {};
  const counts = {};
  for (const count of TICK_EVENTS) recordTicks(metrics, counts, result.samples[count], (id, what) => tickKey(id, count, what));
  if (result.steady !== undefined) recordTicks(metrics, counts, result.steady, (id, what) => tickKey(id, STEADY_EVENTS, what, "steady"));
  Object.assign(metrics, processFloorRatios(metrics));
  return { metrics, counts, params: { "tick.mods": s.mods, "tick.entities": s.entities, "tick.events": TICK_EVENTS, "tick.emitMany": result.emitMany, "tick.peers": peers.join(","), "tick.steady_warm": s.steadyWarm, "tick.processes": results.length } };
}

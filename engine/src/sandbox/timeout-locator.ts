import { IsolateHandle } from "./ivm.js";
import { ModInstance } from "./mod-instance.js";
import { threadBudget } from "./cpu-budget.js";
import { PROFILED_MEMORY_FACTOR, locatesEvent, type HotSpot, type LocateRequest } from "./sandbox-backend.js";
import type { SandboxBridge } from "../model/wire.js";

/** The throwaway run reaches nobody: no log line leaves it and every capability is refused. */
const SILENT: SandboxBridge = {
  log: () => undefined,
  capability: () => ({ late: false, reply: JSON.stringify({ ok: false, code: "E_REPLAY_DIVERGED", message: "a located replay answers capabilities from the records only", final: true }) }),
};

/**
 * Finds where a call that ran past its time limit was spending its time. isolated-vm stops a
 * timed-out call without a stack, so the call runs again, the same code from the same state, in
 * a throwaway isolate with V8's sampling profiler on, stopped at the same limit; the line of the
 * mod's own code with the most samples is where it looped. A replay serves capability calls from
 * the event's records only and drops log lines, so nothing reaches the game twice. Costs one
 * time limit of CPU plus an isolate start, paid only after a timeout. Null when this
 * isolated-vm has no inspector, or the run did not touch the mod's code (it did not reproduce).
 */
export async function locateTimeout(request: LocateRequest): Promise<HotSpot | null> {
  const first = await profiledRun(request, false);
  if (first.spot !== null) return first.spot;
  // The run ended near its memory limit (it grows memory; isolated-vm disposed the isolate at its
  // limit, or not yet): a longer run would only reach the limit, where it deadlocks.
  if (first.nearMemoryLimit) return null;
  // Nothing found in a located call that was sampled enough: its time went to engine or native
  // code (flattening a huge string the mod made, say), and a longer run would not find a line
  // either. Such a run with the wall backstop was seen hanging until the locating process was
  // killed (a 256 MB rope, hostile-values suite: 24-71 s each time; by its look the memory-limit
  // deadlock above).
  if (first.samplesInCall >= enoughSamples(locatedLimitMs(request))) return null;
  // Nothing found: once more with the wall backstop, as a call cut while starved is run again.
  // Cut while the machine starved the thread (sandbox/cpu-budget.ts) before it reached the mod's
  // code, or given so little CPU that the sampling profiler took no sample in it (seen in CI on a
  // loaded machine, also when the cut was not judged starved).
  return (await profiledRun(request, true)).spot;
}

/**
 * Samples that show a located call with a `limitMs` limit ran long enough: one per ms for a
 * quarter of the limit. V8 asked for a sample every 0.1 ms took one every 0.25-0.3 ms here, so a
 * call that got its whole limit of CPU has ten times this many or more.
 */
export function enoughSamples(limitMs: number): number {
  return Math.ceil(limitMs / 4);
}

/** The limit of the located call: an event's, or 10x it for a load, init or migrate (sandbox/mod-instance.ts). */
function locatedLimitMs(request: LocateRequest): number {
  return locatesEvent(request) ? request.spec.callTimeoutMs : request.spec.callTimeoutMs * 10;
}

/** What one profiled run found. */
interface ProfiledRun {
  /** Where the time went; null: not in the mod's code. */
  readonly spot: HotSpot | null;
  /** Samples taken once the located call began (0 if the run did not get that far). */
  readonly samplesInCall: number;
  /** The run ended holding half its memory limit or more (or its isolate was disposed at the limit). */
  readonly nearMemoryLimit: boolean;
}

/** One profiled run in a throwaway isolate. */
async function profiledRun(request: LocateRequest, backstop: boolean): Promise<ProfiledRun> {
  const { spec } = request;
  // More than the mod's memory, so that the run ends at the time limit as the sandbox's call did,
  // not at the memory limit: a profiled call that reaches it deadlocks its process in isolated-vm
  // (the locating process's owner stops it then, backends/stall-watch.ts). It still happens: a mod
  // growing an array past its 32 MB (stopped by its 1 s limit in a sandbox with
  // sandboxPredictableGc, whose collector runs on the mod's thread) grows faster here. Where the
  // time went is all that matters here.
  const isolate = IsolateHandle.createProfiled(spec.memoryMb * PROFILED_MEMORY_FACTOR);
  if (isolate === undefined) return { spot: null, samplesInCall: 0, nearMemoryLimit: false };
  try {
    isolate.startProfiler();
    const callStartUs = backstop ? threadBudget().inBackstop(() => run(isolate, request)) : run(isolate, request);
    // Half the limit: used bytes count garbage not collected yet, so a mod making much garbage
    // (not keeping it) stays under it as a rule and keeps its second run.
    const heap = isolate.heap();
    const nearMemoryLimit = heap === undefined || heap.usedBytes > heap.limitBytes / 2;
    const profile = await isolate.stopProfiler();
    // The run did not get to the located call (the state could not be imported, say): the module
    // code that ran while loading is not where the call looped.
    if (callStartUs === undefined) return { spot: null, samplesInCall: 0, nearMemoryLimit };
    // A line past the end of its module is an inlined function's line (V8 counts the ticks of code
    // inlined into a function under that function's script): not a place in that module.
    const lines = new Map(spec.modules.map((module) => [module.path, lineCount(module.js)]));
    const hot = profile.linesSince(callStartUs).find((entry) => entry.line <= (lines.get(entry.url) ?? 0));
    return { spot: hot === undefined ? null : { file: hot.url, line: hot.line }, samplesInCall: profile.samplesSince(callStartUs), nearMemoryLimit };
  } finally {
    isolate.dispose();
  }
}

/** Now on the monotonic clock the profiler's sample times are on (µs). */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * The located call itself: synchronous, as every call into an isolate is. How it ended does not
 * matter, only where it ran. Returns when the located call began (monotonicUs), or undefined if
 * the run ended before it.
 */
function run(isolate: IsolateHandle, request: LocateRequest): number | undefined {
  const call = request.call;
  // A staged load's call is the load; a start's (no event) is the load and init() together.
  const fromLoad = call?.kind !== "migrate" && !locatesEvent(request);
  const loadStart = monotonicUs();
  const opened = ModInstance.openIn(isolate, request.spec, SILENT, request.snapshot?.rng ?? request.seed);
  if (call?.kind === "load" || opened.kind !== "ok") return fromLoad ? loadStart : undefined;
  const instance = opened.value;
  if (call?.kind === "migrate") {
    if (request.snapshot === undefined) return undefined;
    const migrateStart = monotonicUs();
    instance.migrateState(request.snapshot.state, call.fromVersion, request.now);
    return migrateStart;
  }
  if (request.event === undefined) {
    instance.initState(request.now);
    return loadStart;
  }
  if (request.snapshot !== undefined && instance.importState(request.snapshot).kind !== "ok") return undefined;
  // Replay mode (recorded capability answers only, no log lines) at the live limit: one limit of CPU.
  const eventStart = monotonicUs();
  instance.dispatch([request.event], true, 1);
  return eventStart;
}

function lineCount(text: string): number {
  let count = 1;
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) count++;
  return count;
}

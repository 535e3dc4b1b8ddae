/**
 * A line profiler over an isolate's inspector session (V8's Profiler domain: isolated-vm's own
 * startCpuProfiler reports functions only, not lines). Used for throwaway runs only
 * (sandbox/timeout-locator.ts, through IsolateHandle.createProfiled): the session stays on the
 * host side, and nothing of it is reachable from the isolate.
 */

/**
 * Ticks the CPU profiler counted on one line of one script (`url` is the isolate's filename of
 * the script; `line` is 1-based, in the code as compiled into the isolate).
 */
export interface LineTicks {
  readonly url: string;
  readonly line: number;
  readonly ticks: number;
}

/** What the profiler uses of an isolated-vm inspector session. */
export interface InspectorChannel {
  dispatchProtocolMessage(message: string): void;
  onResponse: (callId: number, message: string) => void;
  onNotification: (message: string) => void;
  dispose(): void;
}

/** Sampling interval of the profiler (µs): a time limit of 50 ms gives a few hundred samples. */
const PROFILER_INTERVAL_US = 100;

/** A stopped profile, read for where the thread was from a given moment on. */
export interface LineProfile {
  /** Samples taken at or after `sinceUs` (µs of the monotonic clock, as `process.hrtime` reads it). */
  samplesSince(sinceUs: number): number;
  /**
   * Ticks per line of each script, most first, of the functions sampled at or after `sinceUs`
   * (V8 gives a function's line ticks for the whole profile, not per sample: a function that also
   * ran earlier brings its earlier ticks along).
   */
  linesSince(sinceUs: number): LineTicks[];
}

/** A profile without samples (no inspector, a disposed session). */
export const EMPTY_PROFILE: LineProfile = { samplesSince: () => 0, linesSince: () => [] };

/** One isolate's inspector session, driven as a line profiler. The isolate's owner disposes it first. */
export class IsolateProfiler {
  readonly #session: InspectorChannel;
  readonly #pending = new Map<number, (message: string) => void>();
  #next = 1;
  #disposed = false;

  constructor(session: InspectorChannel) {
    this.#session = session;
    session.onResponse = (callId, message) => {
      const resolve = this.#pending.get(callId);
      this.#pending.delete(callId);
      resolve?.(message);
    };
    session.onNotification = () => undefined;
  }

  /**
   * Sends the messages that start profiling, without waiting for their answers. V8's sampler
   * samples the thread that started it, so the caller sends them from inside a call on the thread
   * that runs the isolate's synchronous calls (see IsolateHandle.startProfiler).
   */
  sendStart(): void {
    if (this.#disposed) return;
    guardSigprof();
    this.#send("Profiler.enable", {});
    this.#send("Profiler.setSamplingInterval", { interval: PROFILER_INTERVAL_US });
    this.#send("Profiler.start", {});
  }

  /** Stops the profiler and returns what it sampled. */
  async stop(): Promise<LineProfile> {
    if (this.#disposed) return EMPTY_PROFILE;
    const id = this.#next;
    const reply = await new Promise<unknown>((resolve) => {
      this.#pending.set(id, (message) => resolve(JSON.parse(message) as unknown));
      this.#send("Profiler.stop", {});
    });
    return lineProfileOf(reply);
  }

  /** Ends the session (before its isolate is disposed: disposed after it, it never returns). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#session.dispose();
    for (const resolve of this.#pending.values()) resolve("{}");
    this.#pending.clear();
  }

  #send(method: string, params: Readonly<Record<string, unknown>>): void {
    this.#session.dispatchProtocolMessage(JSON.stringify({ id: this.#next++, method, params }));
  }
}

let sigprofGuarded = false;

/**
 * V8's sampler signals the sampled thread with SIGPROF and puts back the previous handler when it
 * stops; a signal still on its way then meets that handler. Without one, SIGPROF's default action
 * ends the process (seen here: "Profiling timer expired"). Node's listener makes it harmless. Set
 * once per process, on the first profiled run.
 */
function guardSigprof(): void {
  if (sigprofGuarded) return;
  sigprofGuarded = true;
  process.on("SIGPROF", () => undefined);
}

/** Reads a `Profiler.stop` answer (an answer without a profile reads as no samples). */
export function lineProfileOf(reply: unknown): LineProfile {
  const samples = samplesOf(reply);
  return {
    samplesSince: (sinceUs) => samples.filter((sample) => sample.atUs >= sinceUs).length,
    linesSince: (sinceUs) => lineTicksOf(reply, new Set(samples.filter((sample) => sample.atUs >= sinceUs).map((sample) => sample.node))),
  };
}

/**
 * The line ticks of a `Profiler.stop` answer (inspector protocol: `positionTicks` lines are
 * 1-based), of the call-tree nodes in `nodeIds` only if given.
 */
export function lineTicksOf(reply: unknown, nodeIds?: ReadonlySet<number>): LineTicks[] {
  const nodes = (reply as { result?: { profile?: { nodes?: unknown } } } | undefined)?.result?.profile?.nodes;
  if (!Array.isArray(nodes)) return [];
  const byLine = new Map<string, LineTicks>();
  for (const node of nodes as { id?: unknown; callFrame?: { url?: unknown }; positionTicks?: unknown }[]) {
    const url = node.callFrame?.url;
    if (typeof url !== "string" || url === "" || !Array.isArray(node.positionTicks)) continue;
    if (nodeIds !== undefined && !(typeof node.id === "number" && nodeIds.has(node.id))) continue;
    for (const tick of node.positionTicks as { line?: unknown; ticks?: unknown }[]) {
      if (typeof tick.line !== "number" || typeof tick.ticks !== "number") continue;
      const key = `${url}\n${tick.line}`;
      const seen = byLine.get(key);
      byLine.set(key, { url, line: tick.line, ticks: (seen?.ticks ?? 0) + tick.ticks });
    }
  }
  return [...byLine.values()].sort((a, b) => b.ticks - a.ticks);
}

/**
 * Each sample of a `Profiler.stop` answer: the call-tree node it fell in, and when it was taken
 * (µs: the profile's startTime plus the running sum of its timeDeltas).
 */
export function samplesOf(reply: unknown): { node: number; atUs: number }[] {
  const profile = (reply as { result?: { profile?: { startTime?: unknown; samples?: unknown; timeDeltas?: unknown } } } | undefined)?.result?.profile;
  if (typeof profile?.startTime !== "number" || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas)) return [];
  const nodes = profile.samples as unknown[];
  const deltas = profile.timeDeltas as unknown[];
  const out: { node: number; atUs: number }[] = [];
  let at = profile.startTime;
  for (let i = 0; i < nodes.length && i < deltas.length; i++) {
    const node = nodes[i];
    const delta = deltas[i];
    if (typeof node !== "number" || typeof delta !== "number") return out;
    at += delta;
    out.push({ node, atUs: at });
  }
  return out;
}

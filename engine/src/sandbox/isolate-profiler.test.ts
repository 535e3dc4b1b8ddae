import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { lineProfileOf, lineTicksOf, samplesOf } from "./isolate-profiler.js";
import { enoughSamples } from "./timeout-locator.js";

/** A Profiler.stop answer as V8's inspector gives it (trimmed to the fields read). */
const REPLY = {
  id: 4,
  result: {
    profile: {
      nodes: [
        { id: 1, callFrame: { url: "" }, hitCount: 3 },
        { id: 2, callFrame: { url: "main.ts" }, hitCount: 5, positionTicks: [{ line: 7, ticks: 4 }, { line: 2, ticks: 1 }] },
        { id: 3, callFrame: { url: "main.ts" }, hitCount: 2, positionTicks: [{ line: 7, ticks: 2 }] },
      ],
      startTime: 1000,
      samples: [1, 1, 2, 2, 3],
      timeDeltas: [300, 250, 280, 260, 310],
    },
  },
};

describe("profile answers", () => {
  it("sums line ticks per script line, most first, and times every sample (native and engine code too)", () => {
    expect(lineTicksOf(REPLY)).toEqual([{ url: "main.ts", line: 7, ticks: 6 }, { url: "main.ts", line: 2, ticks: 1 }]);
    expect(samplesOf(REPLY)).toEqual([{ node: 1, atUs: 1300 }, { node: 1, atUs: 1550 }, { node: 2, atUs: 1830 }, { node: 2, atUs: 2090 }, { node: 3, atUs: 2400 }]);
  });

  it("reads from a moment on: the samples since, and the line ticks of the functions sampled since", () => {
    const profile = lineProfileOf(REPLY);
    expect(profile.samplesSince(0)).toBe(5);
    expect(profile.samplesSince(2000)).toBe(2);
    // Node 2 (sampled at 2090) brings all its line ticks; node 1 (module code, sampled before) none.
    expect(profile.linesSince(2000)).toEqual([{ url: "main.ts", line: 7, ticks: 6 }, { url: "main.ts", line: 2, ticks: 1 }]);
    expect(profile.linesSince(2100)).toEqual([{ url: "main.ts", line: 7, ticks: 2 }]);
    expect(profile.linesSince(2500)).toEqual([]);
  });

  it("reads an answer without a profile (an error answer, a disposed session's '{}') as no ticks and no samples", () => {
    expect(lineTicksOf({})).toEqual([]);
    expect(samplesOf({})).toEqual([]);
    expect(lineProfileOf({ error: { code: -32000, message: "Profiler is not started" } }).samplesSince(0)).toBe(0);
  });

  it("takes a sample per ms for a quarter of the located call's limit as enough to give up on a second, longer run", () => {
    expect(enoughSamples(150)).toBe(38);
    expect(enoughSamples(1)).toBe(1);
  });
});

/**
 * Runs a 30 ms busy loop in a profiled isolate in a child Node (built engine: `npm test` builds
 * first) and returns the sample counts read on the host's clock. In a child, as the engine itself
 * does (backends/locator-process.ts): isolated-vm's inspector can crash its process as it exits,
 * after the work is done, which would take a shared test worker with it.
 */
type SpinAnswer = { readonly none: true } | { readonly total: number; readonly inside: number; readonly spinLine: boolean };
function profiledSpin(): SpinAnswer {
  const ivmJs = fileURLToPath(new URL("../../dist/sandbox/ivm.js", import.meta.url));
  const script = `
    import { IsolateHandle } from ${JSON.stringify(ivmJs)};
    const isolate = IsolateHandle.createProfiled(32);
    if (isolate === undefined) { console.log(JSON.stringify({ none: true })); process.exit(0); }
    isolate.startProfiler();
    // Samples are taken from here on: the ones before the script runs are few.
    const before = Number(process.hrtime.bigint() / 1000n);
    const api = isolate.runScriptForFunctions("({ spin() { let i = 0; const end = Date.now() + 30; while (Date.now() < end) i++; return String(i); } })", "spin.js", ["spin"], 5000);
    if (api.kind !== "ok") throw new Error("the script did not run: " + api.kind);
    isolate.call(api.value.spin, [], 5000);
    const after = Number(process.hrtime.bigint() / 1000n);
    const profile = await isolate.stopProfiler();
    const answer = { total: profile.samplesSince(0), inside: profile.samplesSince(before) - profile.samplesSince(after + 1), spinLine: profile.linesSince(before).some((l) => l.url === "spin.js") };
    isolate.dispose();
    console.log(JSON.stringify(answer));
  `;
  const child = spawnSync(process.execPath, ["--no-node-snapshot", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  const line = child.stdout.split("\n").find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`the child answered nothing (exit ${child.status ?? child.signal}): ${child.stderr.slice(-2000)}`);
  return JSON.parse(line) as SpinAnswer;
}

describe("a profiled run's sample times", () => {
  it("are on process.hrtime's clock, so samples can be counted from a moment of the host's", () => {
    const answer = profiledSpin();
    if ("none" in answer) return; // an isolated-vm without an inspector: nothing to check
    // A 30 ms busy loop, sampled every 0.1-0.3 ms: most samples fall inside it on this clock, and
    // the loop's line is among the lines of the functions sampled in it.
    expect(answer.inside).toBeGreaterThan(answer.total / 2);
    expect(answer.spinLine).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { lineTicksOf, sampleCountOf } from "./isolate-profiler.js";
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
      samples: [1, 1, 1, 2, 2, 2, 2, 2, 3, 3],
    },
  },
};

describe("profile answers", () => {
  it("sums line ticks per script line, most first, and counts every sample (native and engine code too)", () => {
    expect(lineTicksOf(REPLY)).toEqual([{ url: "main.ts", line: 7, ticks: 6 }, { url: "main.ts", line: 2, ticks: 1 }]);
    expect(sampleCountOf(REPLY)).toBe(10);
  });

  it("reads an answer without a profile (an error answer, a disposed session's '{}') as no ticks and no samples", () => {
    expect(lineTicksOf({})).toEqual([]);
    expect(sampleCountOf({})).toBe(0);
    expect(sampleCountOf({ error: { code: -32000, message: "Profiler is not started" } })).toBe(0);
  });

  it("takes half a call limit of samples as enough to give up on a second, longer run", () => {
    // 100 us per sample: a 150 ms limit is 1500 samples.
    expect(enoughSamples(150)).toBe(750);
    expect(enoughSamples(1)).toBe(5);
  });
});

import { describe, expect, it } from "vitest";
import { LatencyRecorder } from "./latency-recorder.js";

describe("LatencyRecorder", () => {
  it("gives nearest-rank percentiles per phase", () => {
    const recorder = new LatencyRecorder<"a" | "b">();
    for (let ms = 1; ms <= 100; ms++) recorder.record("a", ms);
    recorder.record("b", 7.1234567);
    expect(recorder.summary("a")).toEqual({ p50: 50, p99: 99, max: 100, count: 100 });
    expect(recorder.summary("b")).toEqual({ p50: 7.123, p99: 7.123, max: 7.123, count: 1 });
  });

  it("summarises a phase without samples as zeros", () => {
    expect(new LatencyRecorder<"a">().summary("a")).toEqual({ p50: 0, p99: 0, max: 0, count: 0 });
  });
});

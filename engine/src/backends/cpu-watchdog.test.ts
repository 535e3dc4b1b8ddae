import { describe, expect, it } from "vitest";
import { watchdogRemainingMs } from "./cpu-watchdog.js";

describe("cpu watchdog math", () => {
  it("gives the watchdog what is left of a budget after the wait, bounded by the wall backstop", () => {
    expect(watchdogRemainingMs(1000, 0, 1000, 10)).toBe(0);
    expect(watchdogRemainingMs(1000, 600, 1000, 10)).toBe(600);
    expect(watchdogRemainingMs(9800, 9700, 1000, 10)).toBe(200); // at most up to the backstop
    expect(watchdogRemainingMs(10_000, 9900, 1000, 10)).toBe(0);
    expect(watchdogRemainingMs(1500, undefined, 1000, 10)).toBe(0); // unknown wait: wall time
  });
});

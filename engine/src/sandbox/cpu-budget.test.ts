import { performance } from "node:perf_hooks";
import { describe, expect, it, vi } from "vitest";
import { CpuBudget, StarvedEvents, alignedMaxMs, alignedTimeoutMs, backstopWallMs, chargedMs, cutVerdict, deadlineStepMs, stretchedWallMs } from "./cpu-budget.js";
import { SchedClock, SchedStatReader, parseSchedStat, runShareBetween } from "../util/sched-stat.js";

describe("cpu budget math", () => {
  it("keeps the limit as the wall timeout on an idle machine and stretches it with starvation, up to the backstop", () => {
    expect(stretchedWallMs(50, 1, 10)).toBe(50);
    expect(stretchedWallMs(50, 0.5, 10)).toBe(125); // 1 + 1.5 x (2 - 1) = 2.5
    expect(stretchedWallMs(50, 0.25, 10)).toBe(275); // 1 + 1.5 x 3 = 5.5
    expect(stretchedWallMs(500, 0.01, 10)).toBe(5000); // capped at the backstop
    expect(stretchedWallMs(500, 0, 10)).toBe(5000);
    expect(stretchedWallMs(20, 0.01, 10)).toBe(1020); // a short limit's backstop is limit + 1 s
    expect(backstopWallMs(50, 10)).toBe(1050);
    expect(backstopWallMs(1000, 10)).toBe(10_000);
  });

  it("charges wall time minus the wait for a CPU, never below zero", () => {
    expect(chargedMs(100, 30)).toBe(70);
    expect(chargedMs(100, 130)).toBe(0);
    expect(chargedMs(100, -5)).toBe(100);
  });

  it("calls a cut starved only when it got less than its limit and the backstop was not reached", () => {
    expect(cutVerdict(55, 0, 50, 10)).toBe("timeout"); // idle machine: a real timeout
    expect(cutVerdict(300, 280, 50, 10)).toBe("starved"); // ran 20 ms of a 50 ms limit
    expect(cutVerdict(300, 200, 50, 10)).toBe("timeout"); // charged 100 ms
    expect(cutVerdict(1050, 1049, 50, 10)).toBe("timeout"); // the wall backstop is final
    expect(cutVerdict(5000, 4999, 500, 10)).toBe("timeout");
    expect(cutVerdict(300, undefined, 50, 10)).toBe("timeout"); // no schedstat: wall time rules
  });

  it("reruns an event cut while starved once in backstop mode, with the lines its cut attempt sent", () => {
    const starved = new StarvedEvents(2);
    expect(starved.take("m", [{ seq: 1 }], 0)).toBeUndefined();
    starved.add("m", 7, 3);
    expect(starved.take("other", [{ seq: 7 }], 0)).toBeUndefined();
    expect(starved.take("m", [{ seq: 6 }, { seq: 7 }], 1)).toEqual(new Map([[7, 3]]));
    expect(starved.take("m", [{ seq: 7 }], 0)).toBeUndefined(); // once
    starved.add("m", 1);
    starved.add("m", 2);
    starved.add("m", 3); // bounded: the oldest goes
    expect(starved.take("m", [{ seq: 1 }], 0)).toBeUndefined();
    expect(starved.take("m", [{ seq: 2 }, { seq: 3 }], 0)).toEqual(new Map([[2, 0], [3, 0]]));
  });
});

describe("schedstat", () => {
  it("parses the kernel's three numbers and refuses anything else", () => {
    expect(parseSchedStat("1603568 3781879 3\n")).toEqual({ runNs: 1603568, waitNs: 3781879 });
    expect(parseSchedStat("garbage")).toBeUndefined();
    expect(parseSchedStat("1 x 2")).toBeUndefined();
  });

  it("computes the share of runnable time a thread ran", () => {
    expect(runShareBetween({ atMs: 0, runNs: 0, waitNs: 0 }, { atMs: 10, runNs: 2e6, waitNs: 6e6 })).toBe(0.25);
    expect(runShareBetween({ atMs: 0, runNs: 0, waitNs: 0 }, { atMs: 10, runNs: 1e5, waitNs: 1e5 })).toBe(1); // too little to tell
  });

  it("reads this thread's schedstat where the kernel has it, and falls back to wall time where not", () => {
    const missing = new SchedStatReader("/proc/does-not-exist/schedstat");
    expect(missing.read()).toBeUndefined();
    const budget = new CpuBudget(new SchedClock(missing, 10), 10);
    const timeout = budget.begin(50);
    expect(timeout).toBeGreaterThanOrEqual(50);
    expect(timeout).toBeLessThanOrEqual(alignedMaxMs(50));
    expect(budget.judgeCut()).toBe("timeout");
    const here = new SchedStatReader("/proc/thread-self/schedstat");
    const reading = here.read();
    if (process.platform === "linux") {
      expect(reading).toBeDefined();
      expect(reading!.runNs).toBeGreaterThan(0);
    }
    here.close();
  });

  it("rerun in backstop mode gets the backstop and final cuts", () => {
    const budget = new CpuBudget(new SchedClock(new SchedStatReader("/proc/thread-self/schedstat"), 10), 10);
    expect(budget.inBackstop(() => budget.begin(50))).toBe(1050);
    expect(budget.inBackstop(() => budget.begin(500))).toBe(5000);
    expect(budget.inBackstop(() => budget.judgeCut())).toBe("timeout");
    expect(budget.inBackstopMode).toBe(false);
  });
});

describe("aligned deadlines", () => {
  it("gives at least the wall timeout and at most a step more, on a grid of powers of two ms", () => {
    for (const now of [0, 0.25, 3.5, 1234.567, 99_999.999]) {
      for (const wall of [1, 2, 7, 15, 16, 50, 55, 63, 64, 500]) {
        const timeout = alignedTimeoutMs(now, wall, Infinity);
        expect(Number.isInteger(timeout)).toBe(true);
        expect(timeout).toBeGreaterThanOrEqual(wall);
        expect(timeout).toBeLessThanOrEqual(wall + deadlineStepMs(wall));
        expect(alignedMaxMs(wall)).toBe(wall + deadlineStepMs(wall) + 1);
      }
    }
    // The largest power of two that is at most an eighth of the wall timeout, from 1 to 8 ms.
    expect([1, 15, 16, 31, 32, 55, 63, 64, 500, 5000].map(deadlineStepMs)).toEqual([1, 1, 2, 2, 4, 4, 4, 8, 8, 8]);
    expect(alignedMaxMs(5000)).toBe(5009);
  });

  it("puts calls starting within one step within 1 ms of one grid point", () => {
    // isolated-vm's deadline is the call's start plus a whole number of ms; 55 ms: a 4 ms grid.
    const deadlines = [101.5, 102.3, 104, 104.99].map((now) => now + alignedTimeoutMs(now, 55, Infinity));
    for (const deadline of deadlines) expect(deadline).toBeGreaterThanOrEqual(160);
    expect(Math.max(...deadlines) - Math.min(...deadlines)).toBeLessThan(1);
    // The next step's calls gather at the next grid point.
    expect(105.5 + alignedTimeoutMs(105.5, 55, Infinity)).toBeGreaterThanOrEqual(164);
  });

  it("leaves a deadline where it is when aligning it would pass the cap (the wall backstop)", () => {
    expect(alignedTimeoutMs(3, 1050, 1050)).toBe(1050);
    expect(alignedTimeoutMs(3, 1049, 1050)).toBe(1049);
    expect(alignedTimeoutMs(0, 56, 1050)).toBe(56);
  });

  it("aligns every call's timeout CpuBudget.begin() gives", () => {
    const budget = new CpuBudget(new SchedClock(new SchedStatReader("/proc/does-not-exist/schedstat"), 10), 10);
    const now = vi.spyOn(performance, "now");
    try {
      now.mockReturnValue(1000.3);
      // 55 ms from 1000.3 is 1055.3; the 4 ms grid's next point is 1056.
      expect(budget.begin(55)).toBe(56);
      now.mockReturnValue(1000.9);
      expect(budget.begin(55)).toBe(56); // 1056.9: whole ms, within 1 ms of the same point
      now.mockReturnValue(1001.2);
      expect(budget.begin(55)).toBe(59); // 1056.2 is past it: the next point, 1060
      expect(budget.inBackstop(() => budget.begin(55))).toBe(1055); // the backstop is not moved
    } finally {
      now.mockRestore();
    }
  });
});

import { describe, expect, it } from "vitest";
import type { LoadSpec, WireEvent } from "../model/wire.js";
import { alignedMaxMs, backstopWallMs } from "../sandbox/cpu-budget.js";
import { RequestBudgets, restoredSpec } from "./request-budgets.js";

const spec = (version: string, callTimeoutMs: number): LoadSpec => ({
  name: "m",
  version,
  hash: version,
  entry: "main.js",
  modules: [],
  permissions: [],
  memoryMb: 32,
  callTimeoutMs,
  maxBytes: 1024,
  maxLogsPerCall: 10,
});
const events = (n: number): WireEvent[] => Array.from({ length: n }, (_, i) => ({ seq: i + 1, name: "e", payload: "null", now: 0 }));

describe("RequestBudgets", () => {
  const budgets = new RequestBudgets(10);

  it("gives a start four backstops of 10x its call limit, and a dispatch one backstop past its events' limits", () => {
    expect(budgets.start(50)).toBe(4 * backstopWallMs(500, 10) + 1000);
    // 57 (50 ms, its 5 ms slice, a margin) + a 4 ms grid step + 1 (the deadline's alignment): at
    // least what a dispatch call's timeout (50 + 5 ms, aligned) can be.
    const perCall = 57 + 4 + 1;
    expect(perCall).toBeGreaterThanOrEqual(alignedMaxMs(55));
    expect(budgets.dispatch(50, 3)).toBe(3 * perCall + backstopWallMs(perCall, 10));
  });

  it("gives a restore what its start, dispatches, stages and commits would have had one by one, each under the limit live at that step", () => {
    const v1 = spec("1", 50);
    const v2 = spec("2", 200);
    const migrate = { kind: "migrate" as const, fromVersion: "1", now: 0 };
    const request = {
      spec: v1,
      snapshot: { state: "{}", rng: [1, 2, 3, 4] },
      steps: [
        { kind: "events" as const, events: events(2) },
        { kind: "version" as const, spec: v2, mode: migrate },
        { kind: "events" as const, events: events(5) },
      ],
    };
    const oneByOne = budgets.start(50) + budgets.dispatch(50, 2) + budgets.start(200) + budgets.commit(migrate, 200) + budgets.dispatch(200, 5);
    expect(budgets.restore(request)).toBe(oneByOne);
    expect(budgets.commit({ kind: "handover" }, 200)).toBeLessThan(budgets.commit(migrate, 200));
    // A migration and a state export: one call at 10x the limit, and its deadline's 8 ms grid step + 1.
    expect(budgets.commit(migrate, 200)).toBe(2000 + 8 + 1);
    expect(budgets.exportState(50)).toBe(500 + 8 + 1);
    expect(restoredSpec(request)).toBe(v2);
    expect(restoredSpec({ ...request, steps: [] })).toBe(v1);
  });

  it("scales with the wall backstop factor it is given", () => {
    expect(new RequestBudgets(20).dispatch(50, 1)).toBeGreaterThan(budgets.dispatch(50, 1));
  });
});

import { describe, expect, it } from "vitest";
import { cohortPlace, inCohort } from "./cohort.js";
import { encodeRelease, parseRelease, targetVersion, type ReleaseRecord } from "./release-record.js";
import { abortRelease, afterWindow, startRelease } from "./transitions.js";
import { analyzeWindow } from "./window-analysis.js";
import { windowFigures, type HealthCounters } from "./fleet-store.js";

const policy = { steps: [5, 25, 100], intervalMs: 1000, maxErrorRate: 0.05, minEvents: 100, failureLimit: 2, deadlineMs: 10_000 };
const start = (): ReleaseRecord => startRelease(undefined, { mod: "arena", package: "@s/arena", version: "1.1.0", releaseId: "r1", group: null, policy, by: "t", now: 0 }).record;
const figures = (events: number, errors: number) => ({ events, errors, limits: 0, faults: 0, servers: 1 });

describe("cohort", () => {
  it("widening keeps every earlier server and adds others; places spread evenly", () => {
    const servers = Array.from({ length: 2000 }, (_, i) => `eu-${i}`);
    const at = (p: number) => new Set(servers.filter((s) => inCohort(s, "arena", "r1", p)));
    const five = at(5);
    const quarter = at(25);
    for (const s of five) expect(quarter.has(s)).toBe(true);
    expect(five.size).toBeGreaterThan(50);
    expect(five.size).toBeLessThan(150);
    expect(quarter.size).toBeGreaterThan(400);
    expect(at(100).size).toBe(2000);
    expect(at(0).size).toBe(0);
    // Stable across calls and processes (a pure hash); another release shuffles the order.
    expect(cohortPlace("eu-1", "arena", "r1")).toBe(cohortPlace("eu-1", "arena", "r1"));
    const other = new Set(servers.filter((s) => inCohort(s, "arena", "r2", 5)));
    expect([...five].filter((s) => other.has(s)).length).toBeLessThan(five.size / 2);
  });

  it("a server joining mid-release gets what its place says; a group's release leaves other groups alone", () => {
    const record = { ...start(), percent: 25 };
    const inside = Array.from({ length: 200 }, (_, i) => `s${i}`).find((s) => cohortPlace(s, "arena", "r1") < 25)!;
    const outside = Array.from({ length: 200 }, (_, i) => `s${i}`).find((s) => cohortPlace(s, "arena", "r1") >= 25)!;
    expect(targetVersion({ ...record, stable: "1.0.0" }, inCohort(inside, "arena", "r1", 25), undefined)).toBe("1.1.0");
    expect(targetVersion({ ...record, stable: "1.0.0" }, inCohort(outside, "arena", "r1", 25), undefined)).toBe("1.0.0");
    expect(targetVersion({ ...record, group: "eu" }, true, "us")).toBeUndefined();
    expect(targetVersion({ ...record, stable: "1.0.0", phase: "aborted" }, true, undefined)).toBe("1.0.0");
  });
});

describe("release records from Redis", () => {
  it("round-trips and refuses malformed or hostile records with E_FLEET_DATA", () => {
    const record = start();
    expect(parseRelease(encodeRelease(record), "1", "arena")).toEqual(record);
    const bad: unknown[] = [undefined, 42, "", "{", "[]", "null", JSON.stringify({ ...record, mod: "other" }), JSON.stringify({ ...record, percent: 101 }), JSON.stringify({ ...record, canary: "1.0" }), JSON.stringify({ ...record, policy: { ...policy, steps: [50, 5] } }), JSON.stringify({ ...record, pinned: ["a|b"] }), JSON.stringify({ ...record, releaseId: "../x" }), "x".repeat(100_000)];
    for (const text of bad) expect(() => parseRelease(text, "1", "arena"), String(text).slice(0, 40)).toThrow(expect.objectContaining({ code: "E_FLEET_DATA" }));
    expect(() => parseRelease(encodeRelease(record), "2", "arena")).toThrow(expect.objectContaining({ code: "E_FLEET_DATA" }));
  });
});

describe("window analysis and transitions", () => {
  it("too few events waits, then aborts at the deadline; a pass steps; failures up to the limit abort", () => {
    const record = start();
    expect(analyzeWindow(figures(50, 0), figures(500, 1), policy).verdict).toBe("inconclusive");
    expect(afterWindow(record, analyzeWindow(figures(50, 0), figures(0, 0), policy), 5000, "c")).toBeUndefined();
    expect(afterWindow(record, analyzeWindow(figures(50, 0), figures(0, 0), policy), 10_000, "c")?.record.phase).toBe("aborted");
    const pass = afterWindow(record, analyzeWindow(figures(200, 2), figures(800, 4), policy), 1000, "c")!;
    expect(pass.record).toMatchObject({ percent: 25, stepIndex: 1, epoch: 2, phase: "rolling" });
    expect(afterWindow(pass.record, analyzeWindow(figures(200, 2), figures(800, 4), policy), 2000, "c")!.record).toMatchObject({ phase: "promoted", percent: 100 });
    const failing = analyzeWindow(figures(200, 40), figures(800, 4), policy);
    expect(failing.verdict).toBe("fail");
    const once = afterWindow(record, failing, 1000, "c")!;
    expect(once.record).toMatchObject({ phase: "rolling", failures: 1, percent: 5 });
    expect(afterWindow(once.record, failing, 2000, "c")!.record).toMatchObject({ phase: "aborted", percent: 0 });
    // Clearly worse than stable, though under the threshold.
    expect(analyzeWindow(figures(1000, 40), figures(1000, 1), policy).verdict).toBe("fail");
    expect(analyzeWindow(figures(1000, 10), figures(1000, 8), policy).verdict).toBe("pass");
  });

  it("a second release while one runs is E_FLEET_CONFLICT; aborting a finished one is E_FLEET_STATE", () => {
    const record = start();
    expect(() => startRelease(record, { mod: "arena", package: "@s/arena", version: "1.2.0", releaseId: "r2", group: null, policy, by: "t", now: 0 })).toThrow(expect.objectContaining({ code: "E_FLEET_CONFLICT" }));
    const aborted = abortRelease(record, "x", 1, "t").record;
    expect(() => abortRelease(aborted, "x", 1, "t")).toThrow(expect.objectContaining({ code: "E_FLEET_STATE" }));
    expect(startRelease(aborted, { mod: "arena", package: "@s/arena", version: "1.2.0", releaseId: "r2", group: null, policy, by: "t", now: 0 }).record).toMatchObject({ stable: null, epoch: 3 });
  });
});

describe("window figures", () => {
  it("sum the window's differences per version over live servers only: a server that stopped reporting counts for nothing", () => {
    const row = (events: number, errors: number) => ({ events, errors, limits: 0, faults: 0, swapOk: 0, swapRefused: 0 });
    const start: HealthCounters = new Map([["a", new Map([["1.1.0", row(10, 1)]])], ["b", new Map([["1.1.0", row(5, 0)]])]]);
    const end: HealthCounters = new Map([["a", new Map([["1.1.0", row(110, 3)]])], ["b", new Map([["1.1.0", row(505, 400)]])], ["c", new Map([["1.0.0", row(50, 0)]])]]);
    expect(windowFigures(start, end, "1.1.0", new Set(["a", "c"]))).toEqual({ events: 100, errors: 2, limits: 0, faults: 0, servers: 1 });
    expect(windowFigures(start, end, "1.0.0", new Set(["a", "c"]))).toEqual({ events: 50, errors: 0, limits: 0, faults: 0, servers: 1 });
    expect(windowFigures(start, end, null, new Set(["a"]))).toEqual({ events: 0, errors: 0, limits: 0, faults: 0, servers: 0 });
  });
});

import { describe, expect, it } from "vitest";
import { FakeBackend, fakeContext, fakePlan, fakeVersion, type FakeCall } from "./fake-backend.test-kit.js";
import { judgeStop, probationOutcome } from "./fault-policy.js";
import { ModSlot } from "./mod-slot.js";

let seq = 0;
function event(name: string, payload: unknown = null) {
  return { seq: ++seq, name, payload: JSON.stringify(payload), now: 0 };
}

async function started(backend = new FakeBackend(), overrides = {}) {
  const ctx = fakeContext(backend, overrides);
  const slot = new ModSlot(fakeVersion("1.0.0"), ctx);
  expect(await slot.start()).toBeUndefined();
  return { backend, ctx, slot };
}

/** The sizes of the (non-replay) dispatches the backend got. */
function batches(calls: readonly FakeCall[]): number[] {
  return calls.flatMap((c) => (c.op === "dispatch" && !c.replay ? [c.events.length] : []));
}

describe("judgeStop (the culprit rules)", () => {
  const limits = { callTimeoutMs: 50, memoryMb: 16 };

  it("blames a timeout on the event that was running", () => {
    expect(judgeStop("timeout", ["slow", "next"], limits).fail?.code).toBe("E_TIMEOUT");
    expect(judgeStop("timeout", ["slow"], limits).fail?.message).toContain("on.slow() ran past the 50 ms");
  });

  it("single-steps a batch that hit the memory limit, and blames the event that hit it alone", () => {
    expect(judgeStop("memory", ["a", "b", "c"], limits)).toEqual({ singleStep: 3 });
    expect(judgeStop("memory", ["a"], limits).fail?.code).toBe("E_MEMORY_LIMIT");
  });

  it("counts a crash against the mod and runs the events again", () => {
    const alone = judgeStop("crashed", ["boom"], limits);
    expect(alone.fail).toBeUndefined();
    expect(alone.count).toMatchObject({ code: "E_SANDBOX_CRASHED", event: "boom" });
    const batch = judgeStop("crashed", ["a", "b"], limits);
    expect(batch.singleStep).toBe(2);
    expect(batch.count?.event).toBeUndefined();
  });

  it("blames nobody for another mod's crash or a disposed instance", () => {
    expect(judgeStop("lost", ["a"], limits)).toEqual({});
    expect(judgeStop("disposed", ["a"], limits)).toEqual({});
  });

  it("says what a result means for probation", () => {
    expect(probationOutcome({ ok: true })).toBe("ok");
    expect(probationOutcome({ ok: false, error: { code: "E_CAPABILITY_FAILED", message: "" } })).toBe("ok");
    expect(probationOutcome({ ok: false, error: { code: "E_TIMEOUT", message: "" } })).toBe("termination");
    expect(probationOutcome({ ok: false, error: { code: "E_THREW", message: "" } })).toBe("error");
    expect(probationOutcome({ ok: false, error: { code: "E_PERSIST_FAILED", message: "" } })).toBeUndefined();
  });
});

describe("BatchRunner against a fake backend", () => {
  it("runs queued events as one batch, in order", async () => {
    const { backend, slot } = await started();
    const results = await Promise.all([slot.enqueue(event("add", 1)), slot.enqueue(event("add", 2)), slot.enqueue(event("add", 3))]);
    expect(results.map((r) => r.value)).toEqual([1, 3, 6]);
    expect(batches(backend.calls)).toEqual([3]);
  });

  it("runs events delivered to one sink as one batch, after what was queued before them and before what comes after", async () => {
    const { backend, slot } = await started();
    const first = slot.enqueue(event("add", 1));
    const got: [number, unknown][] = [];
    const sink = { queuedAt: 0, put: (result: { value?: unknown }, index: number) => void got.push([index, result.value]) };
    for (const [k, n] of [2, 3, 4].entries()) slot.deliver(event("add", n), sink, 10 + k);
    const later = slot.enqueue(event("add", 5));
    expect((await first).value).toBe(1);
    expect((await later).value).toBe(15);
    expect(got).toEqual([
      [10, 3],
      [11, 6],
      [12, 10],
    ]);
    // Queued in one turn, they share one dispatch.
    expect(batches(backend.calls)).toEqual([5]);
  });

  it("fails a timed-out event alone, undoes it, and runs the events after it on a respawned instance", async () => {
    const { backend, ctx, slot } = await started();
    const results = await Promise.all([slot.enqueue(event("add", 1)), slot.enqueue(event("timeout")), slot.enqueue(event("add", 5))]);
    expect(results[0]).toMatchObject({ ok: true, value: 1 });
    expect(results[1]).toMatchObject({ ok: false, error: { code: "E_TIMEOUT" } });
    expect(results[2]).toMatchObject({ ok: true, value: 6 });
    expect(ctx.faults).toEqual([expect.objectContaining({ code: "E_TIMEOUT", event: "timeout", quarantined: false })]);
    // The respawn started from the checkpoint and replayed the journaled event before going on.
    expect(backend.calls.filter((c) => c.op === "dispatch" && c.replay)).toEqual([{ op: "dispatch", events: ["add"], replay: true }]);
    expect(await slot.state()).toBe(6);
  });

  it("without a profiled location (this backend runs no code), names the timed-out handler's declaration", async () => {
    const backend = new FakeBackend();
    const ctx = fakeContext(backend);
    const base = fakeVersion("1.0.0");
    const main = `export default {\n  on: {\n    timeout() {\n      for (;;) {}\n    },\n  },\n};\n`;
    const slot = new ModSlot({ ...base, spec: { ...base.spec, entry: "main.ts" }, files: new Map([["main.ts", main]]) }, ctx);
    expect(await slot.start()).toBeUndefined();
    const result = await slot.enqueue(event("timeout"));
    expect(result).toMatchObject({ ok: false, error: { code: "E_TIMEOUT", file: "main.ts", line: 3, column: 4 } });
    expect(result.error?.message).toContain("on.timeout is declared at main.ts:3:5");
    expect(ctx.faults).toEqual([expect.objectContaining({ code: "E_TIMEOUT", file: "main.ts", line: 3 })]);
  });

  it("finds which event of a batch hit the memory limit by running them one at a time", async () => {
    const { backend, ctx, slot } = await started();
    const results = await Promise.all([slot.enqueue(event("add", 1)), slot.enqueue(event("memory")), slot.enqueue(event("add", 2))]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]?.error?.code).toBe("E_MEMORY_LIMIT");
    expect(batches(backend.calls)).toEqual([3, 1, 1]);
    expect(ctx.faults.map((f) => f.code)).toEqual(["E_MEMORY_LIMIT"]);
  });

  it("runs events again after another mod's crash, without counting a fault", async () => {
    const { backend, ctx, slot } = await started();
    backend.loseNextDispatch = true;
    const results = await Promise.all([slot.enqueue(event("add", 2)), slot.enqueue(event("add", 3))]);
    expect(results.map((r) => r.value)).toEqual([2, 5]);
    expect(ctx.faults).toEqual([]);
    expect(slot.status).toBe("running");
  });

  it("retries an event that crashes the sandbox until the mod is quarantined", async () => {
    const { ctx, slot } = await started();
    const result = await slot.enqueue(event("crash"));
    expect(result).toMatchObject({ ok: false, error: { code: "E_QUARANTINED" } });
    expect(ctx.faults.map((f) => [f.code, f.quarantined])).toEqual([
      ["E_SANDBOX_CRASHED", false],
      ["E_SANDBOX_CRASHED", false],
      ["E_SANDBOX_CRASHED", true],
    ]);
    expect(slot.status).toBe("quarantined");
    expect((await slot.enqueue(event("add", 1))).error?.code).toBe("E_QUARANTINED");
  });

  it("counts faults in a row only: a success in between resets the count", async () => {
    const { ctx, slot } = await started();
    for (let round = 0; round < 3; round++) {
      expect((await slot.enqueue(event("timeout"))).error?.code).toBe("E_TIMEOUT");
      expect((await slot.enqueue(event("timeout"))).error?.code).toBe("E_TIMEOUT");
      expect((await slot.enqueue(event("add", 1))).ok).toBe(true);
    }
    expect(ctx.faults.every((f) => !f.quarantined)).toBe(true);
    expect(slot.status).toBe("running");
  });

  it("answers a handler's error as data and does not count it as a fault", async () => {
    const { ctx, slot } = await started();
    expect(await slot.enqueue(event("fail"))).toMatchObject({ ok: false, error: { code: "E_THREW", mod: "counter" } });
    expect(ctx.faults).toEqual([]);
  });

  it("asks for a rollback once a swapped-in version fails probation, and only once", async () => {
    const probation = { durationMs: 60_000, maxEvents: 100, maxErrorRate: 0.05, minCalls: 20, maxTerminations: 2 };
    const { ctx, slot } = await started(new FakeBackend(), { probation });
    expect((await slot.swap(fakeVersion("2.0.0"), fakePlan())).ok).toBe(true);
    await slot.enqueue(event("fail")); // a handler error is not a termination
    expect(ctx.rollbacks).toEqual([]);
    await slot.enqueue(event("timeout"));
    await slot.enqueue(event("timeout"));
    expect(ctx.rollbacks).toEqual([expect.stringContaining("version 2.0.0 hit its time or memory limit 2 times")]);
    await slot.enqueue(event("timeout"));
    expect(ctx.rollbacks).toHaveLength(1);
  });
});

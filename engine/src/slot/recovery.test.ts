import { describe, expect, it } from "vitest";
import { FakeBackend, fakeContext, fakePlan, fakeVersion } from "./fake-backend.test-kit.js";
import { ModSlot } from "./mod-slot.js";

let seq = 0;
function event(name: string, payload: unknown = null) {
  return { seq: ++seq, name, payload: JSON.stringify(payload), now: 0 };
}

async function started(backend = new FakeBackend()) {
  const ctx = fakeContext(backend);
  const slot = new ModSlot(fakeVersion("1.0.0"), ctx);
  expect(await slot.start()).toBeUndefined();
  return { backend, ctx, slot };
}

describe("Recovery against a fake backend", () => {
  it("respawns a lost instance from the checkpoint and replays the journal", async () => {
    const { backend, slot } = await started();
    await slot.enqueue(event("add", 1));
    await slot.enqueue(event("add", 2));
    backend.crashAll();
    backend.calls.length = 0;
    expect(await slot.state()).toBe(3);
    expect(backend.calls.slice(0, 2)).toEqual([
      { op: "start", version: "1.0.0", init: "import" },
      { op: "dispatch", events: ["add", "add"], replay: true },
    ]);
  });

  it("tries the respawn again when another mod's crash takes the sandbox down under it", async () => {
    const { backend, ctx, slot } = await started();
    await slot.enqueue(event("add", 4));
    backend.crashAll();
    backend.startOutcomes.push("lost", "lost");
    expect(await slot.enqueue(event("add", 1))).toMatchObject({ ok: true, value: 5 });
    expect(ctx.faults).toEqual([]);
  });

  it("faults the mod when the respawn fails, and answers later events with E_MOD_FAULTED", async () => {
    const { backend, ctx, slot } = await started();
    backend.crashAll();
    backend.startOutcomes.push("failed");
    const result = await slot.enqueue(event("add", 1));
    expect(result).toMatchObject({ ok: false, error: { code: "E_MOD_FAULTED" } });
    expect(slot.status).toBe("faulted");
    expect(ctx.faults).toEqual([expect.objectContaining({ code: "E_MOD_FAULTED", quarantined: false })]);
    expect((await slot.enqueue(event("add", 1))).error?.code).toBe("E_MOD_FAULTED");
  });

  it("a handover lost after the barrier: the events sent behind it run again on the new version after a respawn, and the swap stands", async () => {
    const { backend, ctx, slot } = await started();
    await slot.enqueue(event("add", 1));
    backend.failNextHandover = true;
    // An event that arrives during the barrier: it goes out behind the handover, without waiting for its answer.
    let behind: Promise<unknown> | undefined;
    backend.onHandover = () => {
      backend.onHandover = undefined;
      behind = slot.enqueue(event("add", 2));
    };
    const report = await slot.swap(fakeVersion("2.0.0"), fakePlan());
    expect(report).toMatchObject({ ok: true, kind: "swap", from: "1.0.0", to: "2.0.0" });
    expect(await behind).toMatchObject({ ok: true, value: 3 });
    expect(await slot.enqueue(event("add", 4))).toMatchObject({ ok: true, value: 7 });
    expect([...backend.instances.values()]).toEqual([{ state: 7, version: "2.0.0", staged: undefined }]);
    expect(ctx.faults).toEqual([]);
    // The lost handover; the event behind it finds the instance gone; the respawn starts from the
    // checkpoint and replays the swap from the journal; the event runs on the new version.
    const from = backend.calls.findIndex((c) => c.op === "stage");
    expect(backend.calls.slice(from)).toEqual([
      { op: "stage", version: "2.0.0" },
      { op: "commit", mode: "handover" },
      { op: "dispatch", events: ["add"], replay: false },
      { op: "stop", id: "fake:counter#0" },
      { op: "start", version: "1.0.0", init: "import" },
      { op: "dispatch", events: ["add"], replay: true },
      { op: "stage", version: "2.0.0" },
      { op: "commit", mode: "handover" },
      { op: "dispatch", events: ["add"], replay: false },
      { op: "dispatch", events: ["add"], replay: false },
    ]);
  });

  it("a handover lost with no event behind it: the instance is dropped, so the next swap starts from a respawn", async () => {
    const { backend, ctx, slot } = await started();
    await slot.enqueue(event("add", 5));
    backend.failNextHandover = true;
    expect(await slot.swap(fakeVersion("2.0.0"), fakePlan())).toMatchObject({ ok: true, to: "2.0.0" });
    expect(await slot.swap(fakeVersion("3.0.0"), fakePlan())).toMatchObject({ ok: true, from: "2.0.0", to: "3.0.0" });
    expect(await slot.enqueue(event("add", 1))).toMatchObject({ ok: true, value: 6 });
    expect([...backend.instances.values()]).toEqual([{ state: 6, version: "3.0.0", staged: undefined }]);
    expect(ctx.faults).toEqual([]);
  });

  it("replays each event with the code that ran it: a swap in the journal is staged and committed in between", async () => {
    const { backend, slot } = await started();
    await slot.enqueue(event("add", 1));
    const report = await slot.swap(fakeVersion("2.0.0"), fakePlan());
    expect(report).toMatchObject({ ok: true, kind: "swap", from: "1.0.0", to: "2.0.0" });
    await slot.enqueue(event("add", 2));
    backend.crashAll();
    backend.calls.length = 0;
    expect(await slot.state()).toBe(3);
    expect(backend.calls.slice(0, 5)).toEqual([
      { op: "start", version: "1.0.0", init: "import" },
      { op: "dispatch", events: ["add"], replay: true },
      { op: "stage", version: "2.0.0" },
      { op: "commit", mode: "handover" },
      { op: "dispatch", events: ["add"], replay: true },
    ]);
    expect(slot.version.manifest.version).toBe("2.0.0");
    expect(slot.previousVersions.map((v) => v.manifest.version)).toEqual(["1.0.0"]);
  });

  it("a migrate in place is journaled, not checkpointed: a respawn starts from the old checkpoint and runs migrate() again", async () => {
    const { backend, slot } = await started();
    await slot.enqueue(event("add", 7));
    expect((await slot.swap(fakeVersion("2.0.0"), fakePlan("swap", true))).ok).toBe(true);
    await slot.enqueue(event("add", 1));
    backend.crashAll();
    backend.calls.length = 0;
    expect(await slot.state()).toBe(8);
    expect(backend.calls.slice(0, 5)).toEqual([
      { op: "start", version: "1.0.0", init: "import" },
      { op: "dispatch", events: ["add"], replay: true },
      { op: "stage", version: "2.0.0" },
      { op: "commit", mode: "migrate" },
      { op: "dispatch", events: ["add"], replay: true },
    ]);
  });

  it("a swap into a fresh isolate (new memory limit) checkpoints the state at the barrier, under the old version", async () => {
    const { backend, slot } = await started();
    await slot.enqueue(event("add", 2));
    expect((await slot.swap(fakeVersion("2.0.0", { memoryMb: 32 }), fakePlan())).ok).toBe(true);
    await slot.enqueue(event("add", 3));
    backend.crashAll();
    backend.calls.length = 0;
    expect(await slot.state()).toBe(5);
    expect(backend.calls.slice(0, 4)).toEqual([
      { op: "start", version: "1.0.0", init: "import" },
      { op: "stage", version: "2.0.0" },
      { op: "commit", mode: "handover" },
      { op: "dispatch", events: ["add"], replay: true },
    ]);
  });

  it("a faulted mod gets a fresh start from its last checkpoint with the new version", async () => {
    const { backend, slot } = await started();
    await slot.enqueue(event("add", 1));
    backend.crashAll();
    backend.startOutcomes.push("failed");
    await slot.enqueue(event("add", 1));
    expect(slot.status).toBe("faulted");
    const report = await slot.swap(fakeVersion("2.0.0"), fakePlan());
    expect(report.ok).toBe(true);
    expect(slot.status).toBe("running");
    // The checkpoint was taken at start (state 0): the journaled event was answered by the old version.
    expect(await slot.state()).toBe(0);
  });

  it("re-stages a fresh-isolate swap whose sandbox process (a pool member) died between stage and commit", async () => {
    const { backend, ctx, slot } = await started();
    await slot.enqueue(event("add", 5));
    // A new memory limit: the version is staged in a fresh isolate, which the member's crash takes.
    backend.memberCrashAfterStart = "empty";
    backend.calls.length = 0;
    const report = await slot.swap(fakeVersion("2.0.0", { memoryMb: 32 }), fakePlan());
    expect(report).toMatchObject({ ok: true, from: "1.0.0", to: "2.0.0" });
    expect(backend.calls.filter((c) => c.op === "start")).toEqual([
      { op: "start", version: "2.0.0", init: "empty" }, // staged, then lost with the member
      { op: "start", version: "2.0.0", init: "empty" }, // staged again inside the barrier
      { op: "start", version: "1.0.0", init: "import" }, // the live version restored to read its state
    ]);
    expect(await slot.enqueue(event("add", 1))).toMatchObject({ ok: true, value: 6 });
    expect(ctx.faults).toEqual([]);
  });
});

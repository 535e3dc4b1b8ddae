import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { WireEvent } from "../model/wire.js";
import { FakeBackend, fakeContext, fakeVersion } from "./fake-backend.test-kit.js";
import { ModSlot } from "./mod-slot.js";
import { SlotJournal } from "./slot-journal.js";
import type { SlotState } from "./slot-state.js";

/** A slot with no stateDir, or with a store whose appends fail. */
function slotWith(append?: () => Promise<void>): SlotState {
  const persistence = append === undefined ? undefined : { store: { append } };
  return { ctx: { persistence } } as unknown as SlotState;
}

/** A slot whose checkpoints are taken every 10 events (time allowing) by `exportState`, with no stateDir. */
function checkpointingSlot(version: ReturnType<typeof fakeVersion>, exportState: () => Promise<unknown>): SlotState {
  return {
    name: "m",
    version,
    instance: { id: "i1" },
    ctx: { persistence: undefined, checkpointEvery: 10, checkpointIntervalMs: 60_000, metrics: { checkpoint: () => undefined }, backend: { exportState } },
  } as unknown as SlotState;
}

const event = (seq: number, caps?: WireEvent["caps"]): WireEvent => ({ seq, name: "hit", payload: JSON.stringify({ seq, who: `e${seq}` }), now: 1000 + seq, ...(caps ? { caps } : {}) });

describe("SlotJournal (in memory)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("gives back every event in order, those with capability records as they were, around version transitions", async () => {
    const journal = new SlotJournal(slotWith());
    const withCaps = event(3, [{ permission: "world.read", reply: `{"ok":true}` }]);
    const first = [event(1), event(2), withCaps, event(4), event(5)];
    expect(await journal.recordEvents(first)).toBeUndefined();
    const version = fakeVersion("2.0.0");
    journal.transition({ kind: "migrate", version, fromVersion: "1.0.0", now: 7 });
    expect(await journal.recordEvents([event(6)])).toBeUndefined();
    expect(await journal.recordEvents([event(7, [{ permission: "p", reply: "1" }])])).toBeUndefined();

    expect(journal.entries()).toEqual([...first, { kind: "migrate", version, fromVersion: "1.0.0", now: 7 }, event(6), event(7, [{ permission: "p", reply: "1" }])]);
    expect(journal.events).toBe(7);
    expect(journal.transitions).toBe(1);
    const hashes = new Set<string>();
    journal.addReferences(hashes);
    expect([...hashes]).toEqual([version.hash]);
  });

  it("takes back the events of a failed write, and only those", async () => {
    let failing = false;
    const journal = new SlotJournal(
      slotWith(async () => {
        if (failing) throw new Error("disk full");
      }),
    );
    await journal.recordEvents([event(1), event(2)]);
    failing = true;
    const error = await journal.recordEvents([event(3), event(4, [{ permission: "p", reply: "2" }]), event(5)]);
    expect(error?.message).toBe("disk full");
    expect(journal.entries()).toEqual([event(1), event(2)]);
    expect(journal.events).toBe(2);
    // Two events kept as one run: both go, and nothing before them.
    expect((await journal.recordEvents([event(6), event(7)]))?.message).toBe("disk full");
    failing = false;
    await journal.recordEvents([event(8)]);
    expect(journal.entries()).toEqual([event(1), event(2), event(8)]);
    expect(journal.events).toBe(3);
  });

  it("starts empty again at a checkpoint and at a reset", async () => {
    const journal = new SlotJournal(slotWith());
    await journal.recordEvents([event(1)]);
    journal.transition({ kind: "activate", version: fakeVersion("2.0.0") });
    journal.reopened({ state: "{}", rng: [1, 2, 3, 4] }, fakeVersion("2.0.0"));
    expect(journal.entries()).toEqual([]);
    expect([journal.events, journal.transitions]).toEqual([0, 0]);
    await journal.recordEvents([event(2)]);
    journal.reset();
    expect(journal.entries()).toEqual([]);
    expect(journal.checkpoint).toBeUndefined();
  });

  it("takes a periodic checkpoint after the mod was busy 20 times the last one's cost, however much wall time passed", async () => {
    let clock = 1000;
    vi.spyOn(performance, "now").mockImplementation(() => clock);
    let exports = 0;
    const version = fakeVersion("1.0.0");
    const slot = checkpointingSlot(version, () => {
      exports++;
      clock += 5; // each export costs 5 ms
      return Promise.resolve({ kind: "ok", value: { state: "{}", rng: [1, 2, 3, 4] } });
    });
    const journal = new SlotJournal(slot);
    const events = (from: number) => Array.from({ length: 10 }, (_, i) => event(from + i));
    // The first periodic checkpoint: nothing measured yet.
    await journal.recordEvents(events(1));
    await journal.maybeCheckpoint();
    expect(exports).toBe(1);
    // 10 events again, 10 s of wall time but 1 ms of the mod's: not yet (5 % of the events' time).
    await journal.recordEvents(events(11));
    journal.addBusy(1);
    clock += 10_000;
    await journal.maybeCheckpoint();
    expect(exports).toBe(1);
    journal.addBusy(98);
    await journal.maybeCheckpoint();
    expect(exports).toBe(1);
    journal.addBusy(1);
    await journal.maybeCheckpoint();
    expect([exports, journal.events]).toEqual([2, 0]);
    // Busy enough but too few events: not yet; and the interval alone makes one due.
    await journal.recordEvents([event(21)]);
    journal.addBusy(500);
    await journal.maybeCheckpoint();
    expect(exports).toBe(2);
    clock += 60_000;
    await journal.maybeCheckpoint();
    expect(exports).toBe(3);
  });

  it("weighs a large state's first periodic checkpoint against the export the start made; a small state's comes after checkpointEvery events", async () => {
    const version = fakeVersion("1.0.0");
    let exports = 0;
    const slot = checkpointingSlot(version, () => (exports++, Promise.resolve({ kind: "ok", value: { state: "{}", rng: [1, 2, 3, 4], costMs: 5 } })));
    const events = Array.from({ length: 10 }, (_, i) => event(i + 1));
    // 300k characters of state, 5 ms to export at the start: not before 100 ms of events.
    const large = new SlotJournal(slot);
    await large.first({ state: JSON.stringify("x".repeat(300_000)), rng: [1, 2, 3, 4], costMs: 5 }, version);
    await large.recordEvents(events);
    large.addBusy(99);
    await large.maybeCheckpoint();
    expect(exports).toBe(0);
    large.addBusy(1);
    await large.maybeCheckpoint();
    expect(exports).toBe(1);
    // A small state (its first export as dear): after checkpointEvery events, as before.
    const small = new SlotJournal(slot);
    await small.first({ state: "{}", rng: [1, 2, 3, 4], costMs: 5 }, version);
    await small.recordEvents(events);
    await small.maybeCheckpoint();
    expect(exports).toBe(2);
  });

  it("through a slot: the events' own time (the backend's ranMs) brings the periodic checkpoints, one per 20x an export's cost", async () => {
    const backend = new FakeBackend();
    backend.ranMsPerEvent = 1;
    backend.exportCostMs = 1;
    const slot = new ModSlot(fakeVersion("1.0.0"), fakeContext(backend, { checkpointEvery: 5 }));
    expect(await slot.start()).toBeUndefined();
    for (let seq = 1; seq <= 45; seq++) expect(await slot.enqueue({ seq, name: "add", payload: "1", now: 0 })).toMatchObject({ ok: true, value: seq });
    // At 5 events (no cost known yet), then after 20 ms of events each: 25 and 45.
    expect(backend.calls.filter((c) => c.op === "export")).toHaveLength(3);
  });
});

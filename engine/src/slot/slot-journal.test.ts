import { describe, expect, it } from "vitest";
import type { WireEvent } from "../model/wire.js";
import { fakeVersion } from "./fake-backend.test-kit.js";
import { SlotJournal } from "./slot-journal.js";
import type { SlotState } from "./slot-state.js";

/** A slot with no stateDir, or with a store whose appends fail. */
function slotWith(append?: () => Promise<void>): SlotState {
  const persistence = append === undefined ? undefined : { store: { append } };
  return { ctx: { persistence } } as unknown as SlotState;
}

const event = (seq: number, caps?: WireEvent["caps"]): WireEvent => ({ seq, name: "hit", payload: JSON.stringify({ seq, who: `e${seq}` }), now: 1000 + seq, ...(caps ? { caps } : {}) });

describe("SlotJournal (in memory)", () => {
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
});

import { describe, expect, it } from "vitest";
import { decodeEventList, encodeEventList } from "./event-list-text.js";
import type { WireEvent } from "./wire.js";

/** The text of `list` as runs, written out here the slow way. */
function text(list: readonly WireEvent[]): string {
  const runs: unknown[][] = [];
  let last: WireEvent | undefined;
  for (const e of list) {
    const run = runs.at(-1);
    if (run !== undefined && last !== undefined && e.name === last.name && e.now === last.now && e.seq === last.seq + 1) run.push(JSON.parse(e.payload));
    else runs.push([e.seq, e.name, e.now, JSON.parse(e.payload)]);
    last = e;
  }
  return JSON.stringify(runs);
}

describe("event list text", () => {
  it("gives each list of the same events the same text, and never a stale one", () => {
    const a = { seq: 1, name: "hit", payload: `{"d":1}`, now: 5 };
    const b = { seq: 2, name: "hit", payload: `{"d":2}`, now: 5 };
    const c = { seq: 3, name: "hit", payload: `{"d":3}`, now: 6 };
    // One mod's batch, then another mod's (another array of the same objects), then a journal's.
    expect(encodeEventList([a, b, c], 0)).toBe(text([a, b, c]));
    expect(encodeEventList([a, b, c], 0)).toBe(text([a, b, c]));
    expect(encodeEventList([a, b, c], 0, 3)).toBe(text([a, b, c]));
    // The same objects from another place (a slice's rest, a run before an event with records),
    // and the same count of other objects.
    expect(encodeEventList([a, b, c], 1)).toBe(text([b, c]));
    expect(encodeEventList([a, b, c], 0, 2)).toBe(text([a, b]));
    expect(encodeEventList([c, b], 0)).toBe(text([c, b]));
    expect(encodeEventList([b, c], 0)).toBe(text([b, c]));
    expect(encodeEventList([a, b, c], 1)).toBe(text([b, c]));
    // Equal fields are not the same event: a copy with another seq is encoded afresh.
    const bAgain = { ...b, seq: 20 };
    expect(encodeEventList([bAgain, c], 0)).toBe(text([bAgain, c]));
    expect(encodeEventList([a], 0)).toBe(text([a]));
    expect(encodeEventList([a, b], 2)).toBe("[]");
    expect(encodeEventList([a, b, c], 1, 1)).toBe("[]");
  });

  it("decodes what it encoded: each event's seq, name, time and payload text", () => {
    const events: WireEvent[] = [
      { seq: 7, name: "chat", payload: JSON.stringify({ text: 'line\nbreak "quoted" \u2028 \ud83d\ude00 \udc00', n: -0.5, big: 1e21, tiny: 5e-324 }), now: 1.7e12 + 0.25 },
      { seq: 8, name: 'odd"name\\', payload: "null", now: 1.7e12 + 0.25 },
      { seq: 9, name: "chat", payload: JSON.stringify([1, [2, { __proto__: null, k: true }], "x"]), now: 0 },
      { seq: 10, name: "chat", payload: JSON.stringify("just a string"), now: -1 },
    ];
    expect(decodeEventList(encodeEventList(events, 0))).toEqual(events);
    expect(decodeEventList(encodeEventList(events, 1, 3))).toEqual(events.slice(1, 3));
    expect(decodeEventList("[]")).toEqual([]);
    // Runs: one name, one time and following seqs share a run; a gap or a change starts another.
    const runs: WireEvent[] = [3, 4, 5, 9, 10].map((seq) => ({ seq, name: "tick", payload: `{"n":${seq}}`, now: 42 }));
    runs.push({ seq: 11, name: "tick", payload: "[]", now: 43 }, { seq: 12, name: "tock", payload: "[]", now: 43 });
    expect(encodeEventList(runs, 0)).toBe(`[[3,"tick",42,{"n":3},{"n":4},{"n":5}],[9,"tick",42,{"n":9},{"n":10}],[11,"tick",43,[]],[12,"tock",43,[]]]`);
    expect(decodeEventList(encodeEventList(runs, 0))).toEqual(runs);
    expect(decodeEventList(encodeEventList(runs, 1, 4))).toEqual(runs.slice(1, 4));
  });

  it("gives back a payload read from a journal file as the value it holds, in JSON.stringify's text", () => {
    // A line written elsewhere may space its JSON; the mod reads the same value either way.
    const spaced: WireEvent = { seq: 1, name: "e", payload: `{ "a" : [ 1 , 2.50 ] }`, now: 3 };
    expect(decodeEventList(encodeEventList([spaced], 0))).toEqual([{ ...spaced, payload: `{"a":[1,2.5]}` }]);
  });
});

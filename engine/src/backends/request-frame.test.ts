import { describe, expect, it } from "vitest";
import { encodeEventList } from "../model/event-list-text.js";
import type { WireEvent } from "../model/wire.js";
import { decodeRequestFrame, encodeRequestFrame } from "./request-frame.js";
import type { SandboxRequest } from "./sandbox-protocol.js";

/** Requests as plain data: a list's events read their payloads through a getter (listed-events.ts). */
const plainData = (requests: readonly SandboxRequest[]): unknown => JSON.parse(JSON.stringify(requests));
/** The frame's header. */
const headerOf = (text: string): { lists?: unknown[]; events: unknown[]; requests: { body: { events?: number[]; list?: number } }[] } => JSON.parse(text.split("\n")[0] as string);

describe("request frame", () => {
  it("writes an event sent to several mods once, and each mod gets it back", () => {
    const hit: WireEvent = { seq: 1, name: "hit", payload: JSON.stringify({ text: "a-quoted-payload" }), now: 5 };
    const tick: WireEvent = { seq: 2, name: "tick", payload: "null", now: 6 };
    const withCaps: WireEvent = { ...hit, caps: [{ permission: "say", reply: "{}" }] };
    const requests: SandboxRequest[] = [
      { op: "dispatch", id: 1, body: { instance: "a", events: [hit, tick], replay: false } },
      { op: "dispatch", id: 2, body: { instance: "b", events: [hit, tick], replay: false } },
      { op: "heap", id: 3, body: { instance: "a" } },
      { op: "dispatch", id: 4, body: { instance: "c", events: [withCaps], replay: true } },
    ];
    const json = encodeRequestFrame(requests);
    // Once for the two dispatches that share the event (a list), once for the copy with caps (the table).
    expect(json.split("a-quoted-payload").length - 1).toBe(2);
    expect(headerOf(json).requests.map((r) => r.body.list)).toEqual([0, 0, undefined, undefined]);
    const decoded = decodeRequestFrame(json);
    expect(plainData(decoded)).toEqual(requests);
    const [a, b] = decoded;
    expect(a?.op === "dispatch" && b?.op === "dispatch" && a.body.events === b.body.events).toBe(true);
  });

  it("writes the events replayed by a crash's restores once for all of them", () => {
    const hit: WireEvent = { seq: 1, name: "hit", payload: JSON.stringify({ text: "a-quoted-payload" }), now: 5 };
    const snapshot = { state: "{}", rng: [1, 2, 3, 4] };
    const spec = { name: "m", version: "1.0.0", hash: "h", entry: "main.ts", modules: [], permissions: [], memoryMb: 32, callTimeoutMs: 50, maxBytes: 1024, maxLogsPerCall: 1 };
    const requests: SandboxRequest[] = [
      { op: "restore", id: 1, body: { spec, snapshot, steps: [{ kind: "events", events: [hit] }] } },
      { op: "restore", id: 2, body: { spec: { ...spec, name: "n" }, snapshot, steps: [{ kind: "events", events: [hit] }, { kind: "version", spec, mode: { kind: "handover" } }, { kind: "events", events: [hit] }] } },
      { op: "dispatch", id: 3, body: { instance: "a", events: [hit], replay: false } },
    ];
    const json = encodeRequestFrame(requests);
    // Once in the table for the three replays, once in the list of the fresh dispatch after them.
    expect(json.split("a-quoted-payload").length - 1).toBe(2);
    expect(plainData(decodeRequestFrame(json))).toEqual(requests);
  });

  it("carries payloads as they are, unescaped, and one with a line break inside the header", () => {
    const plain: WireEvent = { seq: 1, name: "say", payload: JSON.stringify({ text: 'he said "hi"\\' }), now: 5 };
    // JSON.stringify never writes a raw line break, but JSON text may hold one between tokens.
    const broken: WireEvent = { seq: 2, name: "say", payload: '{"text":\n"two\\nlines"}', now: 5, caps: [{ permission: "say", reply: "{}" }] };
    const requests: SandboxRequest[] = [{ op: "dispatch", id: 1, body: { instance: "a", events: [plain, broken, plain], replay: true } }];
    const text = encodeRequestFrame(requests);
    expect(text.split("\n")).toContain(plain.payload);
    const decoded = decodeRequestFrame(text);
    expect(plainData(decoded)).toEqual(requests);
    const [dispatch] = decoded;
    expect(dispatch?.op === "dispatch" && dispatch.body.events.map((e) => JSON.parse(e.payload) as unknown)).toEqual([{ text: 'he said "hi"\\' }, { text: "two\nlines" }, { text: 'he said "hi"\\' }]);
  });

  it("writes a replay's events in the table: a tick as one run, each mod's share as one range, and gives back every event", () => {
    const tick: WireEvent[] = [1, 2, 3, 4].map((seq) => ({ seq, name: "hit", payload: `{"n":${seq}}`, now: 9 }));
    const other: WireEvent = { seq: 5, name: "heal", payload: "{}", now: 9 };
    const late: WireEvent = { seq: 6, name: "hit", payload: "{}", now: 10 };
    const requests: SandboxRequest[] = [
      { op: "dispatch", id: 1, body: { instance: "a", events: tick, replay: true } },
      // Another mod handles only some of them: ranges of the same table.
      { op: "dispatch", id: 2, body: { instance: "b", events: [tick[0] as WireEvent, tick[2] as WireEvent, tick[3] as WireEvent, other, late], replay: true } },
    ];
    const text = encodeRequestFrame(requests);
    const header = headerOf(text);
    expect(header.lists).toBeUndefined();
    expect(header.events).toEqual([[1, "hit", 9, 4], [5, "heal", 9, 1], [6, "hit", 10, 1]]);
    expect(header.requests.map((r) => r.body.events)).toEqual([[0, 4], [0, 1, 2, 4]]);
    const decoded = decodeRequestFrame(text);
    expect(decoded).toEqual(requests);
    const [a, b] = decoded;
    expect(a?.op === "dispatch" && b?.op === "dispatch" && a.body.events[2] === b.body.events[1]).toBe(true);
  });

  it("finds an event shared with any earlier dispatch, not only the one before, and keeps an event named twice", () => {
    const [e1, e2, e3] = [1, 2, 3].map((seq): WireEvent => ({ seq, name: "hit", payload: `{"n":${seq}}`, now: 9 }));
    const requests: SandboxRequest[] = [
      { op: "dispatch", id: 1, body: { instance: "a", events: [e1 as WireEvent, e2 as WireEvent], replay: true } },
      { op: "dispatch", id: 2, body: { instance: "b", events: [e3 as WireEvent], replay: true } },
      { op: "dispatch", id: 3, body: { instance: "c", events: [e1 as WireEvent, e2 as WireEvent], replay: true } },
      { op: "dispatch", id: 4, body: { instance: "d", events: [e3 as WireEvent, e3 as WireEvent], replay: true } },
    ];
    const text = encodeRequestFrame(requests);
    const header = headerOf(text);
    expect(header.events).toEqual([[1, "hit", 9, 3]]);
    expect(header.requests.map((r) => r.body.events)).toEqual([[0, 2], [2, 1], [0, 2], [2, 1, 2, 1]]);
    expect(decodeRequestFrame(text)).toEqual(requests);
    // The first dispatch of a frame names an event twice: written twice, given back twice.
    for (const replay of [true, false]) {
      const twice: SandboxRequest[] = [{ op: "dispatch", id: 1, body: { instance: "a", events: [e1 as WireEvent, e1 as WireEvent], replay } }];
      expect(plainData(decodeRequestFrame(encodeRequestFrame(twice)))).toEqual(twice);
    }
  });

  it("refuses a frame whose payload lines do not match its event table", () => {
    const text = encodeRequestFrame([{ op: "dispatch", id: 1, body: { instance: "a", events: [{ seq: 1, name: "e", payload: "1", now: 0 }], replay: true } }]);
    expect(() => decodeRequestFrame(`${text}\n2`)).toThrow(/2 lines for 0 lists and 1 events/);
    const listed = encodeRequestFrame([{ op: "dispatch", id: 1, body: { instance: "a", events: [{ seq: 1, name: "e", payload: "1", now: 0 }], replay: false } }]);
    expect(() => decodeRequestFrame((listed.split("\n")[0] as string))).toThrow(/0 lines for 1 lists and 0 events/);
  });

  it("refuses a dispatch naming an event the frame does not have", () => {
    const json = JSON.stringify({ events: [], requests: [{ op: "dispatch", id: 1, body: { instance: "a", replay: false, events: [0, 1] } }] });
    expect(() => decodeRequestFrame(json)).toThrow(/names events 0 to 0 of 0/);
    const one = encodeRequestFrame([{ op: "dispatch", id: 1, body: { instance: "a", events: [{ seq: 1, name: "e", payload: "1", now: 0 }], replay: true } }]);
    const [head, ...payloads] = one.split("\n");
    const wider = (head as string).replace(`"events":[0,1]`, `"events":[0,2]`);
    expect(wider).not.toBe(head);
    expect(() => decodeRequestFrame([wider, ...payloads].join("\n"))).toThrow(/names events 0 to 1 of 1/);
  });

  it("sends a fresh dispatch's events as the isolate's batch text, once for every dispatch naming them", () => {
    const tick: WireEvent[] = [1, 2, 3].map((seq) => ({ seq, name: "hit", payload: JSON.stringify({ n: seq, s: `q"${seq}` }), now: 9 }));
    const heal: WireEvent = { seq: 4, name: "heal", payload: "{}", now: 9 };
    const mods = Array.from({ length: 100 }, (_, i): SandboxRequest => ({ op: "dispatch", id: i + 1, body: { instance: `m${i}`, events: [...tick], replay: false } }));
    const requests: SandboxRequest[] = [
      ...mods,
      { op: "dispatch", id: 101, body: { instance: "h", events: [heal], replay: false } },
      // Named again after another list: the first one's line.
      { op: "dispatch", id: 102, body: { instance: "x", events: [...tick], replay: false } },
      // A list cannot carry capability answers or a line break: these go to the table.
      { op: "dispatch", id: 103, body: { instance: "c", events: [{ ...heal, caps: [{ permission: "say", reply: "1" }] }], replay: false } },
      { op: "dispatch", id: 104, body: { instance: "n", events: [{ ...heal, payload: '{\n"a":1}' }], replay: false } },
    ];
    const text = encodeRequestFrame(requests);
    const header = headerOf(text);
    expect(header.lists).toEqual([[[1, "hit", 9, 3]], [[4, "heal", 9, 1]]]);
    expect(header.requests.map((r) => r.body.list ?? "table")).toEqual([...mods.map(() => 0), 1, 0, "table", "table"]);
    const lines = text.split("\n");
    expect(lines[1]).toBe(encodeEventList(tick, 0));
    expect(text.split('q\\"2').length - 1).toBe(1);
    const decoded = decodeRequestFrame(text);
    expect(plainData(decoded)).toEqual(requests);
    const events = (decoded[0] as Extract<SandboxRequest, { op: "dispatch" }>).body.events;
    // Every mod gets the same events, and their batch is the line itself.
    expect(decoded.slice(1, 100).every((r) => r.op === "dispatch" && r.body.events === events)).toBe(true);
    expect(encodeEventList(events, 0)).toBe(lines[1]);
    // Resuming after the first event needs payloads: read from the text, as they were sent.
    expect(encodeEventList(events, 1)).toBe(encodeEventList(tick, 1));
    expect(events.map((e) => e.payload)).toEqual(tick.map((e) => e.payload));
  });

  it("writes a payload at most twice when mods get different shares of a tick: a share overlapping a list goes to the table", () => {
    const tick: WireEvent[] = Array.from({ length: 50 }, (_, k) => ({ seq: 100 + k, name: k % 2 === 0 ? "hit" : "heal", payload: JSON.stringify({ marker: `p${k}!` }), now: 9 }));
    // Mod i handles "hit" and every event whose index is a multiple of i + 1: 30 different shares.
    const requests: SandboxRequest[] = Array.from({ length: 30 }, (_, i) => ({ op: "dispatch", id: i + 1, body: { instance: `m${i}`, events: tick.filter((e, k) => e.name === "hit" || k % (i + 1) === 0), replay: false } }));
    const text = encodeRequestFrame(requests);
    for (let k = 0; k < tick.length; k++) expect(text.split(`p${k}!`).length - 1).toBeLessThanOrEqual(2);
    const header = headerOf(text);
    expect(header.lists).toHaveLength(1);
    expect(header.requests.slice(1).every((r) => r.body.list === undefined && r.body.events !== undefined)).toBe(true);
    expect(plainData(decodeRequestFrame(text))).toEqual(requests);
    // Shares that do not overlap each get a list.
    const apart: SandboxRequest[] = [0, 1].map((half) => ({ op: "dispatch", id: half + 1, body: { instance: `h${half}`, events: tick.slice(half * 25, half * 25 + 25), replay: false } }));
    const split = encodeRequestFrame(apart);
    expect(headerOf(split).requests.map((r) => r.body.list)).toEqual([0, 1]);
    expect(plainData(decodeRequestFrame(split))).toEqual(apart);
  });

  it("sends an empty dispatch and odd event names as lists, and events with an empty caps list in the table", () => {
    const odd: WireEvent = { seq: 1, name: 'line\nbreak "quoted" \u2028', payload: '"\u2028 text"', now: 3 };
    const capped: WireEvent = { seq: 2, name: "c", payload: "1", now: 3, caps: [] };
    const requests: SandboxRequest[] = [
      { op: "dispatch", id: 1, body: { instance: "a", events: [], replay: false } },
      { op: "dispatch", id: 2, body: { instance: "b", events: [odd], replay: false } },
      { op: "dispatch", id: 3, body: { instance: "c", events: [capped], replay: false } },
    ];
    const text = encodeRequestFrame(requests);
    expect(headerOf(text).requests.map((r) => r.body.list ?? "table")).toEqual([0, 1, "table"]);
    const decoded = decodeRequestFrame(text);
    expect(plainData(decoded)).toEqual(requests);
    const [, named] = decoded;
    expect(named?.op === "dispatch" && named.body.events[0]?.name).toBe(odd.name);
  });

  it("refuses a dispatch naming a list the frame does not have, and a list whose text does not match its header", () => {
    const json = JSON.stringify({ events: [], requests: [{ op: "dispatch", id: 1, body: { instance: "a", replay: false, list: 0 } }] });
    expect(() => decodeRequestFrame(json)).toThrow(/names list 0 of 0/);
    const text = encodeRequestFrame([{ op: "dispatch", id: 1, body: { instance: "a", events: [{ seq: 1, name: "e", payload: "1", now: 0 }], replay: false } }]);
    const [head] = text.split("\n");
    const decoded = decodeRequestFrame(`${head as string}\n[[1,"e",0,1,2]]`);
    const events = (decoded[0] as Extract<SandboxRequest, { op: "dispatch" }>).body.events;
    expect(() => events[0]?.payload).toThrow(/holds 2 events where its header names 1/);
  });
});

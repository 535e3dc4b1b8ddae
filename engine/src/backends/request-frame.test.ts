import { describe, expect, it } from "vitest";
import type { WireEvent } from "../model/wire.js";
import { decodeRequestFrame, encodeRequestFrame } from "./request-frame.js";
import type { SandboxRequest } from "./sandbox-protocol.js";

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
    // Once for the two dispatches that share the event, once for the copy with caps (its own event).
    expect(json.split("a-quoted-payload").length - 1).toBe(2);
    const decoded = decodeRequestFrame(json);
    expect(decoded).toEqual(requests);
    const [a, b] = decoded;
    expect(a?.op === "dispatch" && b?.op === "dispatch" && a.body.events[0] === b.body.events[0]).toBe(true);
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
    expect(json.split("a-quoted-payload").length - 1).toBe(1);
    expect(decodeRequestFrame(json)).toEqual(requests);
  });

  it("carries payloads as they are, unescaped, and one with a line break inside the header", () => {
    const plain: WireEvent = { seq: 1, name: "say", payload: JSON.stringify({ text: 'he said "hi"\\' }), now: 5 };
    // JSON.stringify never writes a raw line break, but JSON text may hold one between tokens.
    const broken: WireEvent = { seq: 2, name: "say", payload: '{"text":\n"two\\nlines"}', now: 5, caps: [{ permission: "say", reply: "{}" }] };
    const requests: SandboxRequest[] = [{ op: "dispatch", id: 1, body: { instance: "a", events: [plain, broken, plain], replay: true } }];
    const text = encodeRequestFrame(requests);
    expect(text.split("\n")).toContain(plain.payload);
    const decoded = decodeRequestFrame(text);
    expect(decoded).toEqual(requests);
    const [dispatch] = decoded;
    expect(dispatch?.op === "dispatch" && dispatch.body.events.map((e) => JSON.parse(e.payload) as unknown)).toEqual([{ text: 'he said "hi"\\' }, { text: "two\nlines" }, { text: 'he said "hi"\\' }]);
  });

  it("writes a tick's events as one run, each mod's share as one range, and gives back every event", () => {
    const tick: WireEvent[] = [1, 2, 3, 4].map((seq) => ({ seq, name: "hit", payload: `{"n":${seq}}`, now: 9 }));
    const other: WireEvent = { seq: 5, name: "heal", payload: "{}", now: 9 };
    const late: WireEvent = { seq: 6, name: "hit", payload: "{}", now: 10 };
    const requests: SandboxRequest[] = [
      { op: "dispatch", id: 1, body: { instance: "a", events: tick, replay: false } },
      // Another mod handles only some of them: ranges of the same table.
      { op: "dispatch", id: 2, body: { instance: "b", events: [tick[0] as WireEvent, tick[2] as WireEvent, tick[3] as WireEvent, other, late], replay: false } },
    ];
    const text = encodeRequestFrame(requests);
    const header = JSON.parse(text.split("\n")[0] as string) as { events: unknown[]; requests: { body: { events: number[] } }[] };
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
      { op: "dispatch", id: 1, body: { instance: "a", events: [e1 as WireEvent, e2 as WireEvent], replay: false } },
      { op: "dispatch", id: 2, body: { instance: "b", events: [e3 as WireEvent], replay: false } },
      { op: "dispatch", id: 3, body: { instance: "c", events: [e1 as WireEvent, e2 as WireEvent], replay: false } },
      { op: "dispatch", id: 4, body: { instance: "d", events: [e3 as WireEvent, e3 as WireEvent], replay: false } },
    ];
    const text = encodeRequestFrame(requests);
    const header = JSON.parse(text.split("\n")[0] as string) as { events: unknown[]; requests: { body: { events: number[] } }[] };
    expect(header.events).toEqual([[1, "hit", 9, 3]]);
    expect(header.requests.map((r) => r.body.events)).toEqual([[0, 2], [2, 1], [0, 2], [2, 1, 2, 1]]);
    expect(decodeRequestFrame(text)).toEqual(requests);
    // The first dispatch of a frame names an event twice: written twice, given back twice.
    const twice: SandboxRequest[] = [{ op: "dispatch", id: 1, body: { instance: "a", events: [e1 as WireEvent, e1 as WireEvent], replay: false } }];
    expect(decodeRequestFrame(encodeRequestFrame(twice))).toEqual(twice);
  });

  it("refuses a frame whose payload lines do not match its event table", () => {
    const text = encodeRequestFrame([{ op: "dispatch", id: 1, body: { instance: "a", events: [{ seq: 1, name: "e", payload: "1", now: 0 }], replay: false } }]);
    expect(() => decodeRequestFrame(`${text}\n2`)).toThrow(/2 payload lines for 1 events/);
  });

  it("refuses a dispatch naming an event the frame does not have", () => {
    const json = JSON.stringify({ events: [], requests: [{ op: "dispatch", id: 1, body: { instance: "a", replay: false, events: [0, 1] } }] });
    expect(() => decodeRequestFrame(json)).toThrow(/names events 0 to 0 of 0/);
    const one = encodeRequestFrame([{ op: "dispatch", id: 1, body: { instance: "a", events: [{ seq: 1, name: "e", payload: "1", now: 0 }], replay: false } }]);
    const [head, ...payloads] = one.split("\n");
    const wider = (head as string).replace(`"events":[0,1]`, `"events":[0,2]`);
    expect(wider).not.toBe(head);
    expect(() => decodeRequestFrame([wider, ...payloads].join("\n"))).toThrow(/names events 0 to 1 of 1/);
  });
});

import { describe, expect, it } from "vitest";
import { decodeMessage, readReply } from "./sandbox-protocol.js";

const protocolError = expect.objectContaining({ code: "E_SANDBOX_PROTOCOL" });

describe("sandbox process protocol", () => {
  it("reads each message kind", () => {
    expect(decodeMessage(`{"t":"ready","pid":7}`)).toEqual({ t: "ready", pid: 7 });
    expect(decodeMessage(`{"t":"res","replies":[{"id":3,"value":null}]}`)).toEqual({ t: "res", replies: [{ id: 3, value: null }] });
    // A frame's replies, in order, as one message.
    expect(decodeMessage(`{"t":"res","replies":[{"id":3,"value":null},{"id":4,"value":{"results":[]}}]}`)).toEqual({
      t: "res",
      replies: [
        { id: 3, value: null },
        { id: 4, value: { results: [] } },
      ],
    });
    expect(decodeMessage(`{"t":"log","mod":"m","level":"info","message":"hi"}`)).toEqual({ t: "log", mod: "m", level: "info", message: "hi" });
    const call = { mod: "m", version: "h", seq: 1, permission: "say", args: "[]" };
    expect(decodeMessage(JSON.stringify({ t: "cap", call }))).toEqual({ t: "cap", call });
  });

  it("refuses a malformed frame as E_SANDBOX_PROTOCOL", () => {
    for (const frame of ["not json", "[]", "null", `{"t":"res"}`, `{"t":"what"}`, `{"t":"res","id":3,"value":null}`, `{"t":"res","replies":[]}`, `{"t":"res","replies":{}}`, `{"t":"res","replies":[{"id":3,"value":null},{"value":null}]}`, `{"t":"res","replies":[{"id":"3","value":null}]}`, `{"t":"res","replies":[{"id":3}]}`, `{"t":"res","replies":[null]}`, `{"t":"cap","call":{"mod":"m"}}`, `{"t":"log","mod":1}`]) {
      expect(() => decodeMessage(frame), frame).toThrow(protocolError);
    }
  });

  it("puts attachments, in order, as the states of the replies marked for them", () => {
    const states = [`{"hp":"a \\" quote"}`, "null"];
    const message = decodeMessage(
      `{"t":"res","replies":[{"id":1,"att":0,"value":{"kind":"ok","value":{"rng":[1,2,3,4]}}},{"id":2,"value":{"kind":"timeout"}},{"id":3,"att":1,"value":{"kind":"ok","value":{"rng":[5,6,7,8]}}}]}`,
      states,
    );
    expect(message).toEqual({
      t: "res",
      replies: [
        { id: 1, value: { kind: "ok", value: { rng: [1, 2, 3, 4], state: states[0] } } },
        { id: 2, value: { kind: "timeout" } },
        { id: 3, value: { kind: "ok", value: { rng: [5, 6, 7, 8], state: "null" } } },
      ],
    });
    if (message.t !== "res") throw new Error(`expected a "res" message, got "${message.t}"`);
    const exported = readReply("export", message.replies[0]?.value);
    expect(exported).toEqual({ kind: "ok", value: { rng: [1, 2, 3, 4], state: states[0] } });
    // The snapshot's fields in the order the sandbox's own has them.
    expect(exported.kind === "ok" && Object.keys(exported.value)).toEqual(["state", "rng"]);
  });

  it("refuses attachments and marks that do not match as E_SANDBOX_PROTOCOL", () => {
    const ok = (att: unknown, value = `{"kind":"ok","value":{"rng":[]}}`): string => `{"id":1,"att":${JSON.stringify(att)},"value":${value}}`;
    const cases: [string, string[]][] = [
      [`{"t":"res","replies":[${ok(0)}]}`, []], // a mark with no attachment
      [`{"t":"res","replies":[{"id":1,"value":null}]}`, ["{}"]], // an attachment nobody takes
      [`{"t":"res","replies":[${ok(1)}]}`, ["{}", "{}"]], // out of order
      [`{"t":"res","replies":[${ok("0")}]}`, ["{}"]],
      [`{"t":"res","replies":[${ok(0, `{"kind":"timeout"}`)}]}`, ["{}"]], // not an ok outcome
      [`{"t":"res","replies":[${ok(0, `{"kind":"ok","value":null}`)}]}`, ["{}"]],
      [`{"t":"res","replies":[${ok(0, `{"kind":"ok","value":{"state":"x"}}`)}]}`, ["{}"]], // a state of its own too
      [`{"t":"log","mod":"m","level":"info","message":"hi"}`, ["{}"]], // before a message that takes none
    ];
    for (const [frame, attachments] of cases) expect(() => decodeMessage(frame, attachments), frame).toThrow(protocolError);
  });

  it("reads a reply as its request's kind, and refuses one of the wrong shape", () => {
    const started = readReply("start", { kind: "ok", value: { id: "p1:m#1", shape: { events: [], hasInit: false, hasMigrate: false } } });
    expect(started.kind === "ok" && started.value.id).toBe("p1:m#1");
    expect(readReply("export", { kind: "timeout" })).toEqual({ kind: "timeout" });
    expect(readReply("heap", null)).toBeNull();
    expect(readReply("dispatch", { results: [{ ok: true }], stop: "timeout" })).toEqual({ results: [{ ok: true }], stop: "timeout" });
    expect(() => readReply("start", { kind: "ok", value: {} })).toThrow(protocolError);
    expect(() => readReply("export", { kind: "failed" })).toThrow(protocolError);
    expect(() => readReply("export", { kind: "exploded" })).toThrow(protocolError);
    expect(() => readReply("stop", {})).toThrow(protocolError);
    expect(() => readReply("dispatch", { results: "[]" })).toThrow(protocolError);
    expect(() => readReply("heap", { usedBytes: "1" })).toThrow(protocolError);
    // "pool" (to a spare) is never answered: any reply to it is a broken protocol.
    expect(() => readReply("pool", null)).toThrow(protocolError);
  });
});

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

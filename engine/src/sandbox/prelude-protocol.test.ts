import { describe, expect, it } from "vitest";
import type { ReplyText, ShapeFields, SliceFields, SnapshotFields } from "../../runtime/prelude-api.js";
import { decodeDone, decodeShape, decodeSlice, decodeSnapshot, encodeBatch } from "./prelude-protocol.js";

// Replies as the prelude builds them (the brand exists for the compiler only).
const reply = <F extends object, P extends string = never>(text: string) => text as ReplyText<F, P>;

describe("the prelude's reply protocol, host side", () => {
  it("splits a reply into its header and its payload, which stays unparsed", () => {
    const state = `{"text":"a\\nb","n":1}`;
    expect(decodeSnapshot(reply<SnapshotFields, string>(`{"ok":true,"rng":[1,2,3,4]}\n${state}`), "E_NOT_PLAIN_DATA")).toEqual({ kind: "ok", value: { rng: [1, 2, 3, 4], state } });
    expect(decodeSlice(reply<SliceFields, string>(`{"ok":true,"done":2}\n{"ok":true},{"ok":true,"value":"\\n"}`))).toEqual({ count: 2, inner: `{"ok":true},{"ok":true,"value":"\\n"}` });
    expect(decodeSlice(reply<SliceFields, string>(`{"ok":true,"done":0}\n`))).toEqual({ count: 0, inner: "" });
    expect(decodeShape(reply<ShapeFields>(`{"ok":true,"events":["hit"],"hasInit":true,"hasMigrate":false}`), "E_MOD_DEFINITION")).toEqual({ kind: "ok", value: { events: ["hit"], hasInit: true, hasMigrate: false } });
    expect(decodeDone(reply<object>(`{"ok":true}`), "E_THREW")).toEqual({ kind: "ok", value: undefined });
  });

  it("reads a failure's code only when it is a modhost code", () => {
    expect(decodeDone(reply<object>(`{"ok":false,"error":{"code":"E_TOO_LARGE","message":"big","stack":"at x"}}`), "E_THREW")).toEqual({ kind: "failed", error: { code: "E_TOO_LARGE", message: "big", stack: "at x" } });
    expect(decodeDone(reply<object>(`{"ok":false,"error":{"code":"E_FORGED","message":"m"}}`), "E_THREW")).toEqual({ kind: "failed", error: { code: "E_THREW", message: "m" } });
  });

  it("turns unreadable or unexpected replies into failures with the call's code", () => {
    expect(decodeSnapshot(reply<SnapshotFields, string>(`[1,2,3,4]\n{}`), "E_NOT_PLAIN_DATA")).toMatchObject({ kind: "failed", error: { code: "E_NOT_PLAIN_DATA" } });
    expect(decodeSnapshot(reply<SnapshotFields, string>(`{"ok":true,"rng":[1,2]}\n{}`), "E_MIGRATION_FAILED")).toMatchObject({ kind: "failed", error: { code: "E_MIGRATION_FAILED" } });
    expect(decodeShape(reply<ShapeFields>(`{"ok":true,"events":[1]}`), "E_MOD_DEFINITION")).toMatchObject({ kind: "failed", error: { code: "E_MOD_DEFINITION" } });
    expect(decodeSlice(reply<SliceFields, string>(`{"ok":true,"done":-1}\n`))).toBeUndefined();
    expect(decodeSlice(reply<SliceFields, string>(`garbage`))).toBeUndefined();
    expect(decodeSlice(reply<SliceFields, string>(`{"ok":true,"done":}\n`))).toBeUndefined();
    expect(decodeSlice(reply<SliceFields, string>(`{"ok":true,"done":1x}\n`))).toBeUndefined();
    expect(decodeSlice(reply<SliceFields, string>(`{"ok":true,"done":1234567890}\n`))).toEqual({ count: 1234567890, inner: "" });
    expect(decodeSlice(reply<SliceFields, string>(`{"ok":true,"done":12}\na,b`))).toEqual({ count: 12, inner: "a,b" });
  });

  it("encodes a batch with the payloads as they are", () => {
    expect(encodeBatch([{ seq: 1, name: "a", payload: `{"x":1}`, now: 5 }, { seq: 2, name: 'b"', payload: "null", now: 6 }], 1)).toBe(`[[2,"b\\"",6,null]]`);
  });

  it("encodes runs of one name, one time and following seqs, and starts a new run at each change", () => {
    const events = [
      { seq: 7, name: "a", payload: "1", now: 5 },
      { seq: 8, name: "a", payload: `"x"`, now: 5 },
      { seq: 9, name: "b", payload: "[2]", now: 5 },
      { seq: 10, name: "a", payload: "{}", now: 1.5e12 },
      { seq: 11, name: "a", payload: "null", now: 5 },
      { seq: 12, name: "a", payload: "2", now: 5 },
      // A gap in the seqs (events this mod does not handle): a new run with the same name and time.
      { seq: 20, name: "a", payload: "3", now: 5 },
    ];
    expect(encodeBatch(events, 0)).toBe(`[[7,"a",5,1,"x"],[9,"b",5,[2]],[10,"a",1500000000000,{}],[11,"a",5,null,2],[20,"a",5,3]]`);
    expect(encodeBatch(events, 2)).toBe(`[[9,"b",5,[2]],[10,"a",1500000000000,{}],[11,"a",5,null,2],[20,"a",5,3]]`);
    expect(encodeBatch(events, 1)).toBe(`[[8,"a",5,"x"],[9,"b",5,[2]],[10,"a",1500000000000,{}],[11,"a",5,null,2],[20,"a",5,3]]`);
    expect(encodeBatch(events, 7)).toBe("[]");
  });
});

import { describe, expect, it } from "vitest";
import { decodeResultList } from "./result-list.js";

describe("result list", () => {
  it("reads each tagged pair as its result", () => {
    const list = JSON.parse(`[1,{"hp":3},2,0,1,null,0,{"code":"E_THREW","message":"boom"},1,"x"]`) as unknown[];
    expect(decodeResultList(list)).toEqual([
      { ok: true, value: { hp: 3 } },
      { ok: true },
      { ok: true, value: null },
      { ok: false, error: { code: "E_THREW", message: "boom" } },
      { ok: true, value: "x" },
    ]);
    // "no value" has no value key at all: an EmitResult tells undefined from null by it.
    expect("value" in (decodeResultList([2, 0])[0] as object)).toBe(false);
    expect(decodeResultList([])).toEqual([]);
  });

  it("fails a pair it cannot read, in its place, and never drops or forges one", () => {
    const unreadable = (index: number) => ({ ok: false, error: { code: "E_INTERNAL", message: `the sandbox answered with an unreadable result for the event at ${index} of its batch` } });
    expect(decodeResultList([7, 1, 1, 2])).toEqual([unreadable(0), { ok: true, value: 2 }]);
    expect(decodeResultList([0, "not an error", 0, { code: 1, message: "m" }, 0, null])).toEqual([unreadable(0), unreadable(1), unreadable(2)]);
    // A tag without its body: the event still gets a result, a failed one.
    expect(decodeResultList([1, 5, 1])).toEqual([{ ok: true, value: 5 }, unreadable(1)]);
    expect(decodeResultList(["1", 5])).toEqual([unreadable(0)]);
  });
});

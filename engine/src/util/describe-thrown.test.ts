import { describe, expect, it } from "vitest";
import { describeThrown } from "./describe-thrown.js";

describe("describeThrown", () => {
  it("describes anything without throwing, and never more than the cap", () => {
    const nullProto = Object.create(null) as object;
    const badMessage = new Error("x");
    Object.defineProperty(badMessage, "message", {
      get() {
        throw nullProto;
      },
    });
    const trap = (): never => {
      throw nullProto;
    };
    const proxy = new Proxy({}, { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });
    const toPrimitive = { [Symbol.toPrimitive]: trap, toString: trap, valueOf: trap };
    expect(describeThrown(new Error("boom"))).toBe("boom");
    expect(describeThrown("text")).toBe("text");
    expect(describeThrown(7n)).toBe("7");
    expect(describeThrown(Symbol("s"))).toBe("Symbol(s)");
    expect(describeThrown(undefined)).toBe("undefined");
    expect(describeThrown(null)).toBe("null");
    expect(describeThrown(nullProto)).toBe("a thrown [object Object]");
    expect(describeThrown(badMessage)).toBe("a thrown [object Error]");
    expect(describeThrown(proxy)).toBe("a thrown value that could not be described");
    expect(describeThrown(toPrimitive)).toBe("a thrown [object Object]");
    expect(describeThrown({ message: 5 })).toBe("a thrown [object Object]");
    expect(describeThrown("y".repeat(5000), 100)).toBe(`${"y".repeat(100)}…[truncated]`);
  });
});

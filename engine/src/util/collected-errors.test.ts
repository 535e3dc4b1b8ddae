import { describe, expect, it } from "vitest";
import { ModhostError } from "../errors/modhost-error.js";
import { throwCollected } from "./collected-errors.js";

describe("throwCollected", () => {
  it("does nothing when nothing failed", () => {
    expect(() => throwCollected([], "closing")).not.toThrow();
  });

  it("throws a single failure unchanged, code and all", () => {
    const only = new ModhostError("E_PERSIST_FAILED", "disk full", { mod: "m" });
    let caught: unknown;
    try {
      throwCollected([only], "closing the host");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(only);
  });

  it("reports every failure, in order, as an AggregateError", () => {
    const first = new Error("watcher failed");
    const second = new ModhostError("E_PERSIST_FAILED", "journal close failed", { mod: "m" });
    let caught: unknown;
    try {
      throwCollected([first, second, "a string"], "closing the host");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AggregateError);
    const aggregate = caught as AggregateError;
    expect(aggregate.errors).toEqual([first, second, "a string"]);
    expect(aggregate.message).toBe("closing the host: 3 steps failed: watcher failed; journal close failed; a string");
  });
});

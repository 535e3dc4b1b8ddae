import { describe, expect, it } from "vitest";
import { allStarted } from "../support/all-started.js";

/** A resource that records whether it was stopped. */
const resource = (name: string) => ({ name, stopped: false });

describe("allStarted (test setup that starts resources side by side)", () => {
  it("gives every resource once all started", async () => {
    const [a, b] = await allStarted<[{ name: string }, number]>([Promise.resolve(resource("a")), Promise.resolve(2)], [async () => undefined, async () => undefined]);
    expect(a.name).toBe("a");
    expect(b).toBe(2);
  });

  it("stops the ones that started when another failed, then throws that failure", async () => {
    const a = resource("a");
    const c = resource("c");
    const stop = async (r: { stopped: boolean }): Promise<void> => {
      r.stopped = true;
    };
    await expect(allStarted<[typeof a, typeof a, typeof c]>([Promise.resolve(a), Promise.reject(new Error("no minisign")), Promise.resolve(c)], [stop, stop, stop])).rejects.toThrow("no minisign");
    expect(a.stopped).toBe(true);
    expect(c.stopped).toBe(true);
  });

  it("says so when stopping one failed too, with the start's failure first", async () => {
    const failing = allStarted<[number, number]>([Promise.resolve(1), Promise.reject(new Error("start"))], [() => Promise.reject(new Error("stop")), async () => undefined]);
    const err = await failing.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors.map((e: Error) => e.message)).toEqual(["start", "stop"]);
  });
});

import { describe, expect, it } from "vitest";
import { KeyedMutex } from "./keyed-mutex.js";

/** A promise with its resolve/reject exposed, to hold a section open. */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

const turns = async (n = 10): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe("KeyedMutex", () => {
  it("runs the sections of one key one at a time, in call order", async () => {
    const mutex = new KeyedMutex<string>();
    const log: string[] = [];
    const first = gate();
    const a = mutex.run("m", async () => {
      log.push("a start");
      await first.promise;
      log.push("a end");
      return 1;
    });
    const b = mutex.run("m", () => {
      log.push("b");
      return 2;
    });
    await turns();
    expect(log).toEqual(["a start"]); // b waits for a
    first.open();
    expect(await Promise.all([a, b])).toEqual([1, 2]);
    expect(log).toEqual(["a start", "a end", "b"]);
  });

  it("runs different keys independently", async () => {
    const mutex = new KeyedMutex<string>();
    const held = gate();
    const a = mutex.run("a", () => held.promise);
    let bRan = false;
    await mutex.run("b", () => {
      bRan = true;
    });
    expect(bRan).toBe(true);
    held.open();
    await a;
  });

  it("a failing section rejects its caller only; the next one still runs", async () => {
    const mutex = new KeyedMutex<number>();
    const held = gate();
    const failing = mutex.run(1, () => held.promise);
    const next = mutex.run(1, () => "ran");
    held.fail(new Error("boom"));
    await expect(failing).rejects.toThrow("boom");
    expect(await next).toBe("ran");
  });

  it("a section that throws synchronously is a rejection, not a throw from run()", async () => {
    const mutex = new KeyedMutex<string>();
    const result = mutex.run("k", () => {
      throw new Error("sync");
    });
    await expect(result).rejects.toThrow("sync");
    expect(await mutex.run("k", () => "after")).toBe("after");
  });

  it("idle() waits for every section asked for so far and never rejects", async () => {
    const mutex = new KeyedMutex<string>();
    const held = gate();
    const done: string[] = [];
    const a = mutex.run("k", async () => {
      await held.promise;
      done.push("a");
    });
    const b = mutex.run("k", () => Promise.reject(new Error("b failed")));
    b.catch(() => done.push("b"));
    const idle = mutex.idle("k").then(() => done.push("idle"));
    await turns();
    expect(done).toEqual([]);
    held.open();
    await idle;
    await a;
    expect(done).toEqual(["a", "b", "idle"]);
    expect(await mutex.idle("never used")).toBeUndefined();
  });

  it("forgets a key once its line is empty", async () => {
    const mutex = new KeyedMutex<string>();
    await Promise.all([mutex.run("x", () => 1), mutex.run("y", () => 2), mutex.run("x", () => 3)]);
    await turns(2);
    expect(mutex.size).toBe(0);
  });
});

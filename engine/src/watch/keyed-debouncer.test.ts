import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { KeyedDebouncer } from "./keyed-debouncer.js";

describe("KeyedDebouncer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("settles each key once, after its own quiet period, with the merged value", () => {
    const settled: [string, number][] = [];
    const debouncer = new KeyedDebouncer<string, number>(25, (key, value) => settled.push([key, value]));
    const add = (key: string, n: number) => debouncer.touch(key, (pending) => (pending ?? 0) + n);
    add("a", 1);
    vi.advanceTimersByTime(20);
    add("a", 2); // restarts a's quiet period
    add("b", 10);
    vi.advanceTimersByTime(20);
    expect(settled).toEqual([]);
    vi.advanceTimersByTime(5);
    expect(settled).toEqual([
      ["a", 3],
      ["b", 10],
    ]);
    expect(debouncer.size).toBe(0);
  });

  it("drops pending keys on cancelAll", () => {
    const settled: string[] = [];
    const debouncer = new KeyedDebouncer<string, boolean>(25, (key) => settled.push(key));
    debouncer.touch("a", () => true);
    debouncer.cancelAll();
    vi.advanceTimersByTime(100);
    expect(settled).toEqual([]);
  });
});

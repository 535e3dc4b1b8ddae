import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { StallWatch, activeShare } from "./stall-watch.js";

const FAST = { windowMs: 1000, everyMs: 100, minActiveShare: 0.25, waitingIn: /futex/ };
const HAS_SCHEDSTAT = existsSync(`/proc/${process.pid}/schedstat`);

describe("activeShare", () => {
  it("is the share of the wall time spent running or waiting for a CPU", () => {
    const from = { atMs: 0, runNs: 0, waitNs: 0 };
    expect(activeShare(from, { atMs: 1000, runNs: 300e6, waitNs: 600e6 })).toBeCloseTo(0.9);
    expect(activeShare(from, { atMs: 1000, runNs: 30e6, waitNs: 0 })).toBeCloseTo(0.03);
    // Readings taken a little apart can count more than the wall time between them.
    expect(activeShare(from, { atMs: 1000, runNs: 1100e6, waitNs: 0 })).toBe(1);
    expect(activeShare(from, { atMs: 0, runNs: 5, waitNs: 0 })).toBeUndefined();
  });
});

describe.skipIf(!HAS_SCHEDSTAT)("StallWatch on a real child process", () => {
  const children: ChildProcess[] = [];
  const watches: StallWatch[] = [];
  afterEach(() => {
    for (const watch of watches.splice(0)) watch.close();
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });
  const start = (code: string) => {
    const child = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
    children.push(child);
    return child;
  };

  it("calls onStall once for a main thread blocked for good", async () => {
    const child = start("Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);");
    const shares: number[] = [];
    const stalled = new Promise<void>((resolve) => {
      watches.push(new StallWatch(child.pid as number, (share) => {
        shares.push(share);
        resolve();
      }, FAST));
    });
    await stalled;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(shares).toHaveLength(1);
  }, 30_000);

  it("does not call it for a main thread waiting in its event loop (for input that does not come)", async () => {
    const child = spawn(process.execPath, ["-e", "process.stdin.on('data', () => undefined);"], { stdio: ["pipe", "ignore", "ignore"] });
    children.push(child);
    const calls: number[] = [];
    watches.push(new StallWatch(child.pid as number, (share) => calls.push(share), FAST));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(calls).toEqual([]);
  }, 30_000);

  it("does not call it for a busy main thread, nor after close()", async () => {
    const busy = start("for (;;) {}");
    const blocked = start("Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);");
    const calls: string[] = [];
    const busyWatch = new StallWatch(busy.pid as number, () => calls.push("busy"), FAST);
    const closedWatch = new StallWatch(blocked.pid as number, () => calls.push("closed"), FAST);
    closedWatch.close();
    closedWatch.close();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    busyWatch.close();
    expect(calls).toEqual([]);
  }, 30_000);

  it("stops watching a process that exited", async () => {
    const child = start("");
    const calls: number[] = [];
    const watch = new StallWatch(child.pid as number, (share) => calls.push(share), FAST);
    await new Promise((resolve) => child.on("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    watch.close();
    expect(calls).toEqual([]);
  }, 30_000);
});

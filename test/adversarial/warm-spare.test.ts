/**
 * The warm spare sandbox process (process isolation): a sandbox process started ahead of need with
 * isolated-vm loaded takes over when the live one is killed, so the next event is answered without
 * waiting for Node to boot, and another spare is started behind it.
 */
import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { counterMod, handlerMod, startRig, value, type Rig } from "./harness.js";

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});

/** Pids of this process's spare sandbox processes (started with --prewarm). */
function sparePids(): number[] {
  try {
    const out = execFileSync("pgrep", ["-P", String(process.pid), "-f", "sandbox-main\\.js [0-9]+ --prewarm"], { encoding: "utf8" });
    return out.split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 120_000; // generous: the machine is shared and loaded
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Mods a (counter) and b (ping), each answered once, and a spare started and given `warmMs` to warm up. */
async function withSpare(warmMs: number): Promise<Rig> {
  const r = await startRig({ a: counterMod("a"), b: handlerMod("b", { ping: "return ++s.n;" }) }, { isolation: "process" });
  rigs.push(r);
  expect(await value(r.host, "a", "inc")).toBe(1);
  expect(await value(r.host, "b", "ping")).toBe(1);
  await until("a spare is started", () => sparePids().length === 1);
  await new Promise((resolve) => setTimeout(resolve, warmMs));
  return r;
}

describe.skipIf(process.platform !== "linux")("warm spare sandbox process", () => {
  it("answers the next event from the spare after the sandbox is killed, and starts a new spare", async () => {
    const r = await withSpare(2000);
    const { host } = r;
    const pid = host.sandboxPid as number;
    const [spare] = sparePids();

    process.kill(pid, "SIGKILL");
    expect(await value(host, "a", "inc")).toBe(2); // restored from its checkpoint and journal
    expect(await value(host, "b", "ping")).toBe(2);
    expect(host.sandboxPid).toBe(spare); // the spare took over
    await until("another spare is started", () => sparePids().some((p) => p !== spare && p !== pid));
    expect(host.metrics().sandboxRestarts).toBe(1);
  }, 300_000);

  it("restores from a spare that loaded the live versions ahead, also after a swap changed one", async () => {
    const r = await withSpare(3000); // time to load the versions too
    const { host } = r;
    process.kill(host.sandboxPid as number, "SIGKILL");
    expect(await value(host, "a", "inc")).toBe(2);
    expect(await value(host, "b", "ping")).toBe(2);

    // In place: a's checkpoint keeps version 1, the journal hands over to version 2, and the next
    // spare loads version 2 (the live one): the restore loads 1 itself, then replays the handover.
    await r.mods.write("a", counterMod("a", { double: "s.n *= 2; return s.n;" }));
    expect(await host.reload("a")).toMatchObject({ ok: true });
    expect(await value(host, "a", "double")).toBe(4);
    const live = host.sandboxPid as number;
    await until("the next spare is started", () => sparePids().some((p) => p !== live));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    process.kill(live, "SIGKILL");
    expect(await value(host, "a", "double")).toBe(8);
    expect(await value(host, "b", "ping")).toBe(3);
    expect(await host.state("a")).toEqual({ n: 8 });
    expect(host.metrics().sandboxRestarts).toBe(2);
  }, 300_000);
});

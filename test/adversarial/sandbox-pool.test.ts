/**
 * A pool of sandbox processes (`sandboxProcesses`, process isolation): mods are spread over the
 * processes, a crash of one restores only the mods that ran in it, a mod that keeps crashing its
 * shared process is moved to one of its own, every event is answered exactly once across a
 * crash, and close() ends every process. A mod restored from its checkpoint and journal (a
 * replay) is told by a "recovery" event of kind "restored".
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ModhostError, type ModHost } from "modhost";
import { counterMod, handlerMod, rigsClosedAfterEach, startRig } from "./harness.js";

const rig = rigsClosedAfterEach();

/** Counts the "restored" recovery events of each mod from now on. */
function countRestores(host: ModHost): Map<string, number> {
  const counts = new Map<string, number>();
  host.on("recovery", (e) => {
    if (e.kind === "restored") counts.set(e.mod, (counts.get(e.mod) ?? 0) + 1);
  });
  return counts;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 120_000; // generous: the machine is shared and loaded
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const NAMES = ["m1", "m2", "m3", "m4"];

describe("a pool of sandbox processes", () => {
  it("spreads mods over the processes; a crash of one restores only its mods, from the shared warm spare", async () => {
    const mods = Object.fromEntries(NAMES.map((n) => [n, counterMod(n)]));
    const r = await rig(mods, { isolation: "process", sandboxProcesses: 2 });
    const { host } = r;
    const restores = countRestores(host);
    const pids = host.sandboxPids;
    expect(pids).toHaveLength(2);
    expect(host.sandboxPid).toBe(pids[0]);
    expect(await incAll(host)).toEqual(NAMES.map((n) => [n, 1]));

    // The spare is shared: whichever process dies takes it.
    await until("the spare is ready", () => spareOf(pids) !== undefined);
    const spare = spareOf(pids) as number;
    await new Promise((resolve) => setTimeout(resolve, 2000)); // let it warm up
    process.kill(pids[0] as number, "SIGKILL");
    const results = await host.emit("inc");
    expect(results.map((x) => [x.mod, x.ok, x.value]).sort()).toEqual(NAMES.map((n) => [n, true, 2]));
    const after = host.sandboxPids;
    expect(after[1]).toBe(pids[1]); // the other process was left alone
    expect(after[0]).not.toBe(pids[0]);
    expect(after[0]).toBe(spare);

    // Two mods on each process; only the killed one's were restored (replayed), once each.
    expect([...restores.values()]).toEqual([1, 1]);
    expect(NAMES.filter((n) => restores.has(n))).toHaveLength(2);
    expect(host.metrics().sandboxRestarts).toBe(1);
    for (const n of NAMES) expect(await host.state(n)).toEqual({ n: 2 });
  }, 300_000);

  it("moves a mod that keeps crashing its shared process to a process of its own, and says so", async () => {
    // The crasher spins; the test kills whichever sandbox process is spinning, three times. The
    // request running when a process dies names its mod, so each crash is charged to the crasher.
    const mods = {
      crasher: handlerMod("crasher", { inc: "return ++s.n;", spin: "for (;;) {}" }, { manifest: { limits: { callTimeoutMs: 20_000 } } }),
      ...Object.fromEntries(["a", "b", "c"].map((n) => [n, handlerMod(n, { inc: "return ++s.n;", ping: "return ++s.n;" })])),
    };
    const r = await rig(mods, { isolation: "process", sandboxProcesses: 2, limits: { callTimeoutMs: 20_000 } });
    const { host } = r;
    const restores = countRestores(host);
    const shared = host.sandboxPids;
    expect(await incAll(host)).toEqual(["a", "b", "c", "crasher"].map((n) => [n, 1]));

    const spinning = host.emit("spin");
    const killed: number[] = [];
    const pings: Promise<[string, unknown][]>[] = [];
    for (let round = 1; round <= 3; round++) {
      // The third time it spins in its own process (listed after the shared ones, once it has started).
      const pid = await busyPid(() => (round < 3 ? host.sandboxPids : host.sandboxPids.slice(2)));
      killed.push(pid);
      process.kill(pid, "SIGKILL");
      // The bystanders get an event after each crash (one in the crasher's process waits behind
      // its spin: a process answers in order).
      pings.push(incAllOf(host, "ping"));
    }
    const [spun] = await spinning;
    for (const [i, ping] of pings.entries()) expect(await ping).toEqual(["a", "b", "c"].map((n) => [n, i + 2]));
    expect(spun?.error?.code).toBe("E_QUARANTINED"); // three crashes in a row

    const moved = r.logs.filter((l) => /runs in a sandbox process of its own/.test(l.message));
    expect(moved.map((l) => [l.mod, l.level])).toEqual([["crasher", "warn"]]);
    expect(r.faults.filter((f) => f.code === "E_SANDBOX_CRASHED").map((f) => f.mod)).toEqual(["crasher", "crasher", "crasher"]);
    expect(host.sandboxPids).toHaveLength(3);
    // Killed twice in its shared process (the same slot of the pool), then once in its own.
    expect(shared).toContain(killed[0]);
    expect(shared.includes(killed[2] as number)).toBe(false);
    // The mod that shared the crasher's process was restored twice (not three times); the others never.
    expect(["a", "b", "c"].map((n) => restores.get(n) ?? 0).sort()).toEqual([0, 0, 2]);
    expect(await host.state("crasher")).toEqual({ n: 1 });
  }, 300_000);

  it("answers every event exactly once when a process is killed while events are in flight", async () => {
    const mods = Object.fromEntries(NAMES.map((n) => [n, counterMod(n, { slow: "let x = 0; for (let i = 0; i < 200000; i++) x += i; return ++s.n + (x < 0 ? 1 : 0);" })]));
    const r = await rig(mods, { isolation: "process", sandboxProcesses: 2 });
    const { host } = r;
    const [victim] = host.sandboxPids;
    const inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) inFlight.push(host.emit(i % 2 === 0 ? "inc" : "slow"));
    // Killed while the batch runs (the sandbox process answers strictly in order).
    setTimeout(() => process.kill(victim as number, "SIGKILL"), 20);
    for (let i = 0; i < 40; i++) inFlight.push(host.emit("inc"));
    const all = (await Promise.all(inFlight)) as { mod: string; ok: boolean; value: unknown }[][];
    for (const n of NAMES) {
      const mine = all.map((results) => results.filter((x) => x.mod === n));
      expect(mine.every((m) => m.length === 1)).toBe(true);
      const values = mine.map((m) => m[0]?.value);
      expect(mine.filter((m) => m[0]?.ok !== true)).toEqual([]);
      // Every event ran once, in order: the answers count 1..80 with no gap and no repeat.
      expect(values).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
      expect(await host.state(n)).toEqual({ n: 80 });
    }
  }, 300_000);

  it("swaps a mod whose process died while it was idle: the swap restores it first (the pool's generation does not grow)", async () => {
    const r = await rig({ m1: counterMod("m1"), m2: counterMod("m2") }, { isolation: "process", sandboxProcesses: 2 });
    const { host } = r;
    expect(await incAll(host)).toEqual([["m1", 1], ["m2", 1]]);
    const killed = host.sandboxPids[0] as number;
    process.kill(killed, "SIGKILL");
    await until("the killed process is replaced", () => host.sandboxPids[0] !== killed);
    // New code for both (one of them lived in the killed process), swapped in place with their state.
    for (const name of ["m1", "m2"]) {
      await r.mods.write(name, counterMod(name, { double: "s.n *= 2; return s.n;" }));
      const report = await host.reload(name);
      expect(report, `reload of ${name}`).toMatchObject({ ok: true });
    }
    expect(await incAllOf(host, "double")).toEqual([["m1", 2], ["m2", 2]]);
    expect(await incAll(host)).toEqual([["m1", 3], ["m2", 3]]);
  }, 300_000);

  it("close() ends every sandbox process", async () => {
    const r = await rig({ a: counterMod("a"), b: counterMod("b"), c: counterMod("c") }, { isolation: "process", sandboxProcesses: 3 });
    const pids = r.host.sandboxPids;
    expect(pids).toHaveLength(3);
    expect(new Set(pids).size).toBe(3);
    expect(await incAll(r.host)).toEqual(["a", "b", "c"].map((n) => [n, 1]));
    await r.close();
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 300_000);

  it("a pool of one is the single sandbox process of before", async () => {
    const r = await rig({ a: counterMod("a") }, { isolation: "process", sandboxProcesses: 1 });
    expect(r.host.sandboxPids).toEqual([r.host.sandboxPid]);
    expect(await incAll(r.host)).toEqual([["a", 1]]);
  });

  it("refuses sandboxProcesses with inline isolation, and numbers out of range", async () => {
    for (const options of [
      { isolation: "inline" as const, sandboxProcesses: 2 },
      { isolation: "process" as const, sandboxProcesses: 0 },
      { isolation: "process" as const, sandboxProcesses: 1.5 },
    ]) {
      const failed = await startRig({ a: counterMod("a") }, options).then(
        async (r) => (await r.close(), undefined),
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(ModhostError);
      expect((failed as ModhostError).code).toBe("E_OPTIONS_INVALID");
    }
  });
});

/** Emits "inc" once: each mod's [name, value], sorted by name. */
async function incAll(host: ModHost): Promise<[string, unknown][]> {
  const results = await host.emit("inc");
  return results.map((x): [string, unknown] => [x.mod, x.value]).sort((a, b) => a[0].localeCompare(b[0]));
}

/** Emits `event` once: each mod's [name, value], sorted by name. */
async function incAllOf(host: ModHost, event: string): Promise<[string, unknown][]> {
  const results = await host.emit(event);
  return results.map((x): [string, unknown] => [x.mod, x.value]).sort((a, b) => a[0].localeCompare(b[0]));
}

/** CPU time (ms) a process has used, from /proc. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return 0; // gone
  }
}

/**
 * The sandbox process that spins: of the processes listed now and a second ago, the one that used
 * most of the CPU in both seconds, the others far less (a process still booting is not listed twice).
 */
async function busyPid(list: () => readonly number[]): Promise<number> {
  const deadline = Date.now() + 120_000;
  let previous: number | undefined;
  while (Date.now() < deadline) {
    const pids = list();
    if (pids.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    const before = pids.map(cpuMs);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const used = pids.map((pid, i) => cpuMs(pid) - (before[i] as number));
    const top = Math.max(...used);
    const at = used.indexOf(top);
    const busy = top >= 30 && used.every((u, i) => i === at || u * 4 < top) ? pids[at] : undefined;
    if (busy !== undefined && busy === previous) return busy;
    previous = busy;
  }
  throw new Error("no sandbox process was spinning");
}

/** A spare of this process's pool: a sandbox process started with --prewarm, not one of `live`. */
function spareOf(live: readonly number[]): number | undefined {
  try {
    const out = execFileSync("pgrep", ["-P", String(process.pid), "-f", "sandbox-main\\.js [0-9]+ --prewarm"], { encoding: "utf8" });
    return out.split("\n").filter(Boolean).map(Number).find((p) => !live.includes(p));
  } catch {
    return undefined; // pgrep exits 1 when nothing matches
  }
}

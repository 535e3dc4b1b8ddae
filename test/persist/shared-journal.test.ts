/**
 * The shared write-ahead journal of durability "batch" (issue 17): all mods' batches in one file
 * with one sync per group commit; a crash of the game process (and of the machine: the mods' own
 * unsynced segment tails lost) loses no acknowledged event; a damaged batch in the shared file
 * faults only the mod that lost records by it; a stateDir of per-mod journals only (as written
 * before, and by "fsync") is read and carried on.
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ModHost } from "modhost";
import { eachLine } from "../support/child-lines.js";
import { makeModsDir, simpleMod } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

const scratch = persistScratch();

const COUNTER = `export default { init: () => ({ n: 0, seen: [] as number[] }), on: {
  inc(state: { n: number; seen: number[] }, e: { i: number }) { state.n++; state.seen.push(e.i); return state.n; },
} };`;
const RUNNER = fileURLToPath(new URL("./fixtures/tick-runner.mjs", import.meta.url));
const names = (count: number): string[] => Array.from({ length: count }, (_, i) => `m${String(i).padStart(2, "0")}`);

async function counters(mods: readonly string[]): Promise<void> {
  scratch.mods = await makeModsDir(Object.fromEntries(mods.map((name) => [name, simpleMod(name, COUNTER)])));
  scratch.stateDir = await mkdtemp(join(tmpdir(), "modhost-shared-journal-"));
}

/** Runs the tick runner until `ticks` ticks are acknowledged, then SIGKILLs it; the acknowledged event indexes. */
async function runAndKill(durability: string, ticks: number, firstIndex = 0): Promise<number[]> {
  const child = spawn(process.execPath, ["--no-node-snapshot", RUNNER, scratch.mods?.dir as string, scratch.stateDir as string, durability, String(firstIndex)], { stdio: ["ignore", "pipe", "inherit"] });
  const acked: number[] = [];
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let seen = 0;
    eachLine(child.stdout, (line) => {
      lines.push(line);
      if (!line.startsWith("ack ")) return;
      acked.push(...line.slice(4).split(",").map(Number));
      if (++seen === ticks) child.kill("SIGKILL");
    });
    child.on("exit", () => resolve());
    child.on("error", reject);
  });
  expect(lines[0], lines.join("\n")).toMatch(/^ready \["running"/);
  expect(lines.some((line) => line.startsWith("nack")), lines.join("\n")).toBe(false);
  // Lines written before the kill landed still count: those events were acknowledged.
  expect(acked.length).toBeGreaterThanOrEqual(ticks * 10);
  return acked;
}

/** Each mod's newest journal segment and its size (what is on disk for sure, after a clean close). */
async function newestSegments(mods: readonly string[]): Promise<Map<string, { file: string; size: number }>> {
  const out = new Map<string, { file: string; size: number }>();
  for (const name of mods) {
    const dir = join(scratch.stateDir as string, "mods", name);
    const newest = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^journal-\d{8}\.log$/.test(f)).sort().at(-1);
    if (newest !== undefined) out.set(name, { file: join(dir, newest), size: (await stat(join(dir, newest))).size });
  }
  return out;
}

/**
 * What a machine crash may do to the mods' newest segments: lose what was written since they were
 * last synced (the size `synced` recorded after the last clean close; none if new), cut at `cut`
 * (0: all of it, 1: none) of the way.
 */
async function loseUnsyncedTails(mods: readonly string[], synced: Map<string, { file: string; size: number }>, cut: () => number): Promise<void> {
  for (const [name, now] of await newestSegments(mods)) {
    const from = synced.get(name)?.file === now.file ? (synced.get(name)?.size ?? 0) : 0;
    await truncate(now.file, from + Math.floor(cut() * (now.size - from)));
  }
}

const walFiles = async (): Promise<string[]> => (await readdir(join(scratch.stateDir as string, "wal"))).filter((f) => f.startsWith("wal-"));

/** Each acknowledged event is in the mod's state exactly once (an unacknowledged in-flight tick may be there too). */
async function expectAcked(host: ModHost, mod: string, acked: readonly number[]): Promise<void> {
  const state = (await host.state(mod)) as { n: number; seen: number[] };
  expect(new Set(state.seen).size, `${mod}: no event twice`).toBe(state.seen.length);
  expect(state.seen.slice(0, acked.length), mod).toEqual(acked);
  expect(state.seen.length - acked.length, `${mod}: at most the tick in flight`).toBeLessThanOrEqual(10);
}

describe("shared journal (durability batch)", () => {
  it("100 mods: one journal file, a few syncs per tick instead of one per mod; state intact across a restart", async () => {
    const mods = names(100);
    await counters(mods);
    const host = await ModHost.create({ modsDir: scratch.mods?.dir as string, stateDir: scratch.stateDir as string, durability: "batch", isolation: "inline" });
    scratch.hosts.push(host);
    const syncsBefore = host.metrics().journal.syncs;
    const ticks = 20;
    for (let t = 0; t < ticks; t++) {
      const all = await Promise.all(Array.from({ length: 10 }, (_, k) => host.emit("inc", { i: t * 10 + k })));
      expect(all.flat().every((r) => r.ok)).toBe(true);
    }
    // One journal file per mod took 100 syncs a tick (2000 here).
    expect(host.metrics().journal.syncs - syncsBefore).toBeLessThanOrEqual(ticks * 5);
    expect(await walFiles()).toHaveLength(1);
    await host.close();
    expect(await walFiles()).toEqual([]); // closed cleanly: every mod's own segment is synced
    const again = await ModHost.create({ modsDir: scratch.mods?.dir as string, stateDir: scratch.stateDir as string, isolation: "inline" });
    scratch.hosts.push(again);
    const all = Array.from({ length: ticks * 10 }, (_, i) => i);
    for (const mod of [mods[0], mods[57], mods[99]] as string[]) await expectAcked(again, mod, all);
  }, 180_000);

  it("SIGKILL of the game process, and the mods' unsynced segment tails lost as in a machine crash: every acknowledged event in every mod, exactly once", async () => {
    const mods = names(20);
    await counters(mods);
    for (let round = 0; round < 2; round++) {
      const before = round === 0 ? 0 : ((await readState(mods[0] as string)) as { seen: number[] }).seen.length;
      const synced = await newestSegments(mods);
      const acked = await runAndKill("batch", 10 + Math.floor(Math.random() * 20), round * 100_000);
      // No shared segment was retired, so nothing the run wrote to the mods' segments was synced.
      expect(await walFiles()).toHaveLength(1);
      await loseUnsyncedTails(mods, synced, () => (round === 0 ? 0 : Math.random()));
      const host = await ModHost.create({ modsDir: scratch.mods?.dir as string, stateDir: scratch.stateDir as string, isolation: "inline" });
      try {
        for (const m of host.mods()) expect(m, JSON.stringify(m.recovery)).toMatchObject({ status: "running", recovery: { outcome: "recovered" } });
        for (const mod of mods) {
          const state = (await host.state(mod)) as { seen: number[] };
          expect(new Set(state.seen).size, `${mod}: no event twice`).toBe(state.seen.length);
          for (const i of acked) expect(state.seen.includes(i), `${mod}: acknowledged event ${i}`).toBe(true);
          expect(state.seen.length - before - acked.length).toBeLessThanOrEqual(10);
        }
      } finally {
        await host.close();
      }
    }
  }, 240_000);

  it("a damaged batch in the shared file after a machine crash faults only the mod whose records it held, across restarts, until the loss is accepted", async () => {
    const mods = ["a", "b", "c"];
    await counters(mods);
    const acked = await runAndKill("batch", 30);
    await loseUnsyncedTails(mods, new Map(), () => 0);
    const [wal] = await walFiles();
    const walPath = join(scratch.stateDir as string, "wal", wal as string);
    const bytes = await readFile(walPath);
    const text = bytes.toString("latin1");
    const headers = [...text.matchAll(/^W [0-9a-f]{8} (\{[^\n]*\})$/gm)].filter((m) => (JSON.parse(m[1] as string) as { mod: string }).mod === "b");
    const victim = headers[Math.floor(headers.length / 2)] as RegExpMatchArray;
    const at = (victim.index as number) + (victim[0] as string).length + 30; // inside its payload
    bytes[at] = (bytes[at] as number) ^ 0x04;
    await writeFile(walPath, bytes);

    const host = await ModHost.create({ modsDir: scratch.mods?.dir as string, stateDir: scratch.stateDir as string, isolation: "inline" });
    scratch.hosts.push(host);
    const byName = new Map(host.mods().map((m) => [m.name, m]));
    expect(byName.get("b")).toMatchObject({ status: "faulted", error: { code: "E_STATE_CORRUPT" }, recovery: { outcome: "corrupt" } });
    expect(byName.get("b")?.error?.message).toMatch(/journal-\d{8}\.log ends at byte \d+ .*in neither copy.*wal-\d{8}\.log/);
    for (const mod of ["a", "c"]) {
      expect(byName.get(mod)).toMatchObject({ status: "running", recovery: { outcome: "recovered" } });
      await expectAcked(host, mod, acked);
    }
    await host.close();
    scratch.hosts.splice(0);
    // The finding outlives a clean restart (the shared file is gone by now: a note in b's folder says it).
    const again = await ModHost.create({ modsDir: scratch.mods?.dir as string, stateDir: scratch.stateDir as string, isolation: "inline" });
    scratch.hosts.push(again);
    expect(again.mods().find((m) => m.name === "b")).toMatchObject({ status: "faulted", error: { code: "E_STATE_CORRUPT" } });
    expect(await again.acceptStateLoss("b")).toBeUndefined();
    const state = (await again.state("b")) as { seen: number[] };
    expect(state.seen.length).toBeGreaterThan(0); // up to the lost batch
    expect(state.seen.length).toBeLessThan(acked.length);
    expect(state.seen).toEqual(acked.slice(0, state.seen.length));
    expect((await again.emit("inc", { i: -1 }))[0]?.ok).toBe(true);
  }, 240_000);

  it("upgrade: a stateDir of per-mod journals only (no wal/, as earlier versions and fsync write it) is read, and carried on in batch", async () => {
    const mods = ["a", "b"];
    await counters(mods);
    const acked = await runAndKill("fsync", 8);
    expect(await readdir(scratch.stateDir as string)).not.toContain("wal");
    const host = await ModHost.create({ modsDir: scratch.mods?.dir as string, stateDir: scratch.stateDir as string, durability: "batch", isolation: "inline" });
    try {
      for (const mod of mods) await expectAcked(host, mod, acked);
      expect((await host.emit("inc", { i: 1000 })).every((r) => r.ok)).toBe(true);
      expect(await walFiles()).toHaveLength(1);
    } finally {
      await host.close();
    }
    const synced = await newestSegments(mods);
    const more = await runAndKill("batch", 5, 100_000);
    await loseUnsyncedTails(mods, synced, () => 0);
    const last = await ModHost.create({ modsDir: scratch.mods?.dir as string, stateDir: scratch.stateDir as string, isolation: "inline" });
    scratch.hosts.push(last);
    for (const mod of mods) {
      const state = (await last.state(mod)) as { seen: number[] };
      for (const i of more) expect(state.seen.includes(i)).toBe(true);
    }
  }, 240_000);
});

/** A mod's state as a host opened for the moment reads it. */
async function readState(mod: string): Promise<unknown> {
  const host = await ModHost.create({ modsDir: scratch.mods?.dir as string, stateDir: scratch.stateDir as string, isolation: "inline" });
  try {
    return await host.state(mod);
  } finally {
    await host.close();
  }
}

import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ModHost } from "modhost";
import { makeModsDir, simpleMod } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

const scratch = persistScratch();

const COUNTER = (name: string) => `export default { init: () => ({ n: 0, seen: [] as number[] }), on: {
  inc(state: { n: number; seen: number[] }, e: { i: number }) { state.n++; state.seen.push(e.i); return state.n; },
} };`;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("crash recovery", () => {
  it("SIGKILL of the sandbox process at random points mid-batch: every event runs exactly once, in order", async () => {
    scratch.mods = await makeModsDir({ a: simpleMod("a", COUNTER("a")), b: simpleMod("b", COUNTER("b")) });
    const host = await ModHost.create({ modsDir: scratch.mods.dir, isolation: "process", checkpointEvery: 50 });
    scratch.hosts.push(host);
    const faults: unknown[] = [];
    host.on("fault", (f) => faults.push(f));
    let sent = 0;
    const all: Promise<{ mod: string; ok: boolean; value?: unknown }[]>[] = [];
    let kills = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 25; i++) all.push(host.emit("inc", { i: sent++ }));
      if (round % 6 === 3) {
        // Kill while this round's batch is in flight, at a random moment.
        const pid = host.sandboxPid!;
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        process.kill(pid, "SIGKILL");
        kills++;
      }
      // Let the round settle before the next, so that every mod succeeds between two kills.
      await Promise.all(all.slice(-25));
    }
    const results = await Promise.all(all);
    expect(kills).toBeGreaterThanOrEqual(6);
    for (const name of ["a", "b"]) {
      const values = results.map((r) => r.find((x) => x.mod === name));
      expect(values.every((v) => v?.ok)).toBe(true);
      expect(values.map((v) => v?.value)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
      const state = (await host.state(name)) as { n: number; seen: number[] };
      expect(state.n).toBe(sent);
      expect(state.seen).toEqual(Array.from({ length: sent }, (_, i) => i));
    }
    expect(host.mods().map((m) => m.status)).toEqual(["running", "running"]);
  });

  it("SIGKILL of the sandbox process in the middle of a swap: the swap is all or nothing, no event lost", async () => {
    scratch.mods = await makeModsDir({ a: simpleMod("a", COUNTER("a")) });
    const host = await ModHost.create({ modsDir: scratch.mods.dir, isolation: "process", typecheck: "off" });
    scratch.hosts.push(host);
    let sent = 0;
    const all: Promise<{ ok: boolean; value?: unknown; version: string }[]>[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      for (let i = 0; i < 20; i++) all.push(host.emit("inc", { i: sent++ }));
      await scratch.mods.write("a", simpleMod("a", COUNTER("a").replace("state.n++", `state.n += 1; /* v${attempt} */`), { version: `1.${attempt + 1}.0` }));
      const reload = host.reload("a");
      for (let i = 0; i < 20; i++) all.push(host.emit("inc", { i: sent++ }));
      await new Promise((r) => setTimeout(r, Math.random() * 8));
      process.kill(host.sandboxPid!, "SIGKILL");
      for (let i = 0; i < 20; i++) all.push(host.emit("inc", { i: sent++ }));
      const report = await reload;
      expect(["swap", "rejected"]).toContain(report.kind);
      const live = host.mods()[0]!.version;
      expect(live === report.to || live === report.from).toBe(true);
      await Promise.all(all);
    }
    const results = await Promise.all(all);
    expect(results.map((r) => r[0]?.value)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    const state = (await host.state("a")) as { n: number; seen: number[] };
    expect(state.n).toBe(sent);
    expect(state.seen).toEqual(Array.from({ length: sent }, (_, i) => i));
  });

  it("SIGKILL of the game process with durability fsync: every acknowledged event is in the recovered state", async () => {
    scratch.mods = await makeModsDir({ counter: simpleMod("counter", `export default { init: () => ({ n: 0 }), on: { inc(state: { n: number }) { return ++state.n; } } };`) });
    scratch.stateDir = await mkdtemp(join(tmpdir(), "modhost-crash-"));
    const runner = fileURLToPath(new URL("./fixtures/host-runner.mjs", import.meta.url));
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, [runner, scratch.mods.dir, scratch.stateDir, "fsync"], { stdio: ["ignore", "pipe", "inherit"] });
      let lastAck = 0;
      let acksThisRound = 0;
      const target = 20 + Math.floor(Math.random() * 80);
      await new Promise<void>((resolve, reject) => {
        let buffer = "";
        child.stdout.on("data", (chunk: Buffer) => {
          buffer += chunk.toString();
          const lines = buffer.split("\n");
          buffer = lines.pop() ?? "";
          for (const line of lines) {
            if (!line.startsWith("ack ")) continue;
            lastAck = Number(line.slice(4));
            if (++acksThisRound === target) child.kill("SIGKILL");
          }
        });
        child.on("exit", () => resolve());
        child.on("error", reject);
      });
      const host = await ModHost.create({ modsDir: scratch.mods.dir, stateDir: scratch.stateDir, isolation: "inline" });
      try {
        const state = (await host.state("counter")) as { n: number };
        // Acknowledged events are durable; at most the one in flight may also be there.
        expect(state.n).toBeGreaterThanOrEqual(lastAck);
        expect(state.n).toBeLessThanOrEqual(lastAck + 1);
      } finally {
        await host.close();
      }
    }
  }, 120_000);
});

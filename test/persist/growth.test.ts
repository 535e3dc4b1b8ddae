/**
 * Nothing grows without bound (issue 11, finding 6): stateDir/versions/ keeps only versions that
 * a mod's history, checkpoints, journal or a pending approval still name (2000 reloads used to
 * leave 2001 files), including the versions of mods whose folder is gone but whose state is kept.
 * The heap benchmark (benchmarks/reload-growth.js) runs here tiny, as a smoke test.
 */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ModHost } from "modhost";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

const scratch = persistScratch();

const COUNTER = (rev: number): string => `export default { init: () => ({ n: 0 }), on: { inc(state: { n: number }) { state.n += 1; return ${rev}; } } };`;
const versionFiles = async (): Promise<string[]> => readdir(join(scratch.stateDir as string, "versions"));
async function open(): Promise<ModHost> {
  scratch.stateDir ??= await mkdtemp(join(tmpdir(), "modhost-growth-"));
  const host = await ModHost.create({ modsDir: (scratch.mods as ModsDir).dir, stateDir: scratch.stateDir, isolation: "inline", typecheck: "off", probation: false });
  scratch.hosts.push(host);
  return host;
}
const settle = async (host: ModHost): Promise<void> => {
  // Pruning runs beside the swaps; a state read and a short wait let it finish.
  await host.state("counter");
  await new Promise((r) => setTimeout(r, 200));
};

describe("bounded growth", () => {
  it("versions/ keeps what history, checkpoints and journal name, not every version ever live", async () => {
    scratch.mods = await makeModsDir({ counter: simpleMod("counter", COUNTER(0)), other: simpleMod("other", COUNTER(0).replace("inc(", "other(")) });
    let host = await open();
    await host.emit("other");
    await scratch.hosts.pop()?.close();
    // "other" leaves the folder; its state (and the versions it names) must stay.
    await rm(join(scratch.mods.dir, "other"), { recursive: true });
    host = await open();
    for (let rev = 1; rev <= 60; rev++) {
      await scratch.mods.write("counter", simpleMod("counter", COUNTER(rev), { version: `1.0.${rev}` }));
      expect(await host.reload("counter")).toMatchObject({ ok: true });
      expect((await host.emit("inc"))[0]).toMatchObject({ value: rev });
    }
    await settle(host);
    const count = (await versionFiles()).length;
    // history (5) + two checkpoints + up to 8 handovers in each of two segments + other's version.
    expect(count).toBeLessThanOrEqual(5 + 2 + 16 + 1);
    expect(count).toBeLessThan(30);
    await scratch.hosts.pop()?.close();

    // Everything a restart needs is still there: the live version, the history, the other mod.
    await scratch.mods.write("other", simpleMod("other", COUNTER(0).replace("inc(", "other(")));
    host = await open();
    expect(host.mods().map((m) => [m.name, m.status, m.version]), JSON.stringify(host.mods())).toEqual([
      ["counter", "running", "1.0.60"],
      ["other", "running", "1.0.0"],
    ]);
    expect(await host.state("counter")).toEqual({ n: 60 });
    for (let i = 0; i < 4; i++) expect(await host.rollback("counter")).toMatchObject({ ok: true });
    expect(host.mods()[0]?.version).toBe("1.0.56");
  }, 120_000);

  it("benchmarks/reload-growth.js runs and prints heap and versions counts", async () => {
    const script = fileURLToPath(new URL("../../benchmarks/reload-growth.js", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ["--no-node-snapshot", "--expose-gc", script, "--reloads", "20", "--marks", "10,20"], { timeout: 120_000 });
    const out = JSON.parse(stdout) as { failed: number; samples: { reloads: number; heapMb: number; versions: number }[] };
    expect(out.failed).toBe(0);
    expect(out.samples.map((s) => s.reloads)).toEqual([0, 10, 20]);
    for (const s of out.samples) expect(s.heapMb).toBeGreaterThan(0);
    expect(out.samples.at(-1)?.versions).toBeLessThan(21);
  }, 120_000);
});

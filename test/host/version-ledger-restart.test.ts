/**
 * The version ledger (when, how and by whom each version went live) is kept in the stateDir: after
 * a restart, versions() shows the real history instead of "startup" for everything.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModHost } from "modhost";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

const scratch = persistScratch();

const V1 = `export default { init: () => ({ n: 0 }), on: { inc(s: { n: number }) { return ++s.n; } } };\n`;
const V2 = V1.replace("++s.n", "s.n += 2");

/** A mods folder with version 1.0.0 of "m", a stateDir, and a way to (re)start a host over them. */
async function folders(): Promise<{ mods: ModsDir; stateDir: string; open: () => Promise<ModHost> }> {
  const stateDir = (scratch.stateDir = await mkdtemp(join(tmpdir(), "modhost-ledger-")));
  const mods = (scratch.mods = await makeModsDir({ m: simpleMod("m", V1) }));
  const open = async (): Promise<ModHost> => {
    const host = await ModHost.create({ modsDir: mods.dir, stateDir, isolation: "inline" });
    scratch.hosts.push(host);
    return host;
  };
  return { mods, stateDir, open };
}

describe("version ledger across restarts", () => {
  it("versions() after a restart shows when, how and by whom each version went live", async () => {
    const { mods, open } = await folders();
    let host = await open();
    await mods.write("m", simpleMod("m", V2, { version: "1.1.0" }));
    const report = await host.reload("m");
    expect(report.ok).toBe(true);
    const live = host.mods()[0];
    host.noteVersionBy("m", live?.hash ?? "", "ann");
    const before = host.versions("m");
    expect(before.map((v) => [v.version, v.how, v.by])).toEqual([
      ["1.0.0", "startup", undefined],
      ["1.1.0", "swap", "ann"],
    ]);
    await host.close();

    host = await open();
    const after = host.versions("m");
    expect(after.map((v) => ({ version: v.version, how: v.how, at: v.at, by: v.by, current: v.current }))).toEqual(
      before.map((v) => ({ version: v.version, how: v.how, at: v.at, by: v.by, current: v.current })),
    );
  }, 120_000); // hosts on a loaded machine: a cold type-check each

  it("a damaged ledger file is reported and replaced; the host starts", async () => {
    const { stateDir, open } = await folders();
    let host = await open();
    await host.close();
    await writeFile(join(stateDir, "versions-ledger.json"), "{ not json");
    host = await open();
    const warnings: string[] = [];
    host.on("log", (line) => void (line.level === "warn" && warnings.push(line.message)));
    expect(warnings.some((w) => w.includes("versions-ledger.json is damaged"))).toBe(true);
    expect(host.versions("m").map((v) => v.how)).toEqual(["startup"]);
  }, 120_000); // hosts on a loaded machine: a cold type-check each
});

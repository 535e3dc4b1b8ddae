import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModHost } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let mods: ModsDir | undefined;
let cacheDir: string | undefined;
afterEach(async () => {
  await mods?.cleanup();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) n++;
  return n;
}

describe("compile cache on disk", () => {
  it("a host with cacheDir writes compiled files there and a second host reuses them", async () => {
    mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN) });
    cacheDir = await mkdtemp(join(tmpdir(), "modhost-cache-"));
    const first = await ModHost.create({ modsDir: mods.dir, cacheDir, isolation: "inline" });
    const hash = first.mods()[0]?.hash;
    await first.close();
    const files = await countFiles(cacheDir);
    expect(files).toBeGreaterThan(0);
    const second = await ModHost.create({ modsDir: mods.dir, cacheDir, isolation: "inline" });
    try {
      expect(second.mods()[0]?.hash).toBe(hash);
      expect(await second.emit("hit", { player: "x" })).toMatchObject([{ ok: true, value: 1 }]);
      expect(await countFiles(cacheDir)).toBe(files);
    } finally {
      await second.close();
    }
  }, 120_000); // the first host type-checks its mod (a cold worker); the second reuses that verdict

  it("a cacheDir that is a file is a clear options error", async () => {
    mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN) });
    await expect(ModHost.create({ modsDir: mods.dir, cacheDir: join(mods.dir, "counter", "mod.json") })).rejects.toMatchObject({ code: "E_OPTIONS_INVALID", location: { field: "cacheDir" } });
  });
});

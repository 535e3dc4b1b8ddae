import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyPatch } from "./apply-patch.js";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "arena-patch-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("applyPatch", () => {
  it("writes the new version's files over the live ones and removes .ts files it no longer has", async () => {
    const live = join(work, "live");
    const patch = join(work, "patch");
    await mkdir(live);
    await mkdir(patch);
    await writeFile(join(live, "mod.json"), "old");
    await writeFile(join(live, "main.ts"), "old");
    await writeFile(join(live, "gone.ts"), "old");
    await writeFile(join(patch, "mod.json"), "new");
    await writeFile(join(patch, "main.ts"), "new");
    expect(await applyPatch(patch, live)).toEqual(["main.ts", "mod.json"]);
    expect((await readdir(live)).sort()).toEqual(["main.ts", "mod.json"]);
    expect(await readFile(join(live, "main.ts"), "utf8")).toBe("new");
  });
});

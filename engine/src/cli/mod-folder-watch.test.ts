import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ModFolderWatch } from "./mod-folder-watch.js";

let dir: string | undefined;
let watch: ModFolderWatch | undefined;
afterEach(async () => {
  await watch?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  watch = undefined;
  dir = undefined;
});

const settle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("ModFolderWatch (modhost dev)", () => {
  it("reports one change per burst of source saves, ignores editor noise, and sees new sub-folders", async () => {
    dir = await mkdtemp(join(tmpdir(), "modhost-watch-"));
    let changes = 0;
    const errors: Error[] = [];
    watch = await ModFolderWatch.create(dir, 20, () => changes++, (err) => errors.push(err));
    await writeFile(join(dir, "main.ts"), "a");
    await writeFile(join(dir, "main.ts"), "b");
    await writeFile(join(dir, "mod.json"), "{}");
    await expect.poll(() => changes).toBe(1);
    await writeFile(join(dir, ".main.ts.swp"), "x");
    await writeFile(join(dir, "main.ts~"), "x");
    await writeFile(join(dir, "README.md"), "x");
    await settle();
    expect(changes).toBe(1);
    await mkdir(join(dir, "lib"));
    await expect.poll(() => changes).toBe(2);
    await writeFile(join(dir, "lib", "util.ts"), "x");
    await expect.poll(() => changes).toBe(3);
    expect(errors).toEqual([]);
  });

  it("close() is idempotent and no change is reported after it", async () => {
    dir = await mkdtemp(join(tmpdir(), "modhost-watch-"));
    let changes = 0;
    watch = await ModFolderWatch.create(dir, 20, () => changes++, (err) => expect.unreachable(err.message));
    await writeFile(join(dir, "main.ts"), "a");
    const closing = watch.close();
    expect(watch.close()).toBe(closing);
    await closing;
    await settle();
    expect(changes).toBe(0);
  });

  it("refuses a path that is not a folder", async () => {
    await expect(ModFolderWatch.create("/no/such/folder", 20, () => undefined, () => undefined)).rejects.toMatchObject({ code: "E_MODS_DIR" });
  });
});

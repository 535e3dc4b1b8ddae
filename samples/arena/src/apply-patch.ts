import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Makes the live mod folder `modDir` hold the version in `patchDir`, the way a careful deploy (or
 * an editor's atomic save) does: each file is written to a temporary name and renamed over the old
 * one, so the engine never reads a half-written file; .ts files the new version no longer has are
 * removed. Returns the files written. (Flat folders only, as the combat mod's versions are.)
 */
export async function applyPatch(patchDir: string, modDir: string): Promise<string[]> {
  const files = (await readdir(patchDir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith(".")).map((e) => e.name).sort();
  for (const name of files) {
    const temp = join(modDir, `.${name}.${process.pid}.tmp`);
    await writeFile(temp, await readFile(join(patchDir, name)));
    await rename(temp, join(modDir, name));
  }
  for (const entry of await readdir(modDir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts") && !files.includes(entry.name)) await rm(join(modDir, entry.name));
  }
  return files;
}

import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathProblem } from "./package-tarball.js";

/**
 * Puts a verified package's files into a mod folder in one step: they are written into a fresh
 * dot-folder beside it (which the loader and the watcher skip), then the old folder is renamed
 * away and the new one renamed in, so a reader sees the old files or the new ones, never a mix.
 */
export async function installPackageFolder(target: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const parent = dirname(target);
  const stage = await mkdtemp(join(parent, ".modhost-stage-"));
  try {
    for (const [path, bytes] of files) {
      // The verifier already refused such paths; checked again because this writes to disk.
      if (pathProblem(path) !== undefined) throw new Error(`refusing to write ${JSON.stringify(path)}`);
      await mkdir(dirname(join(stage, path)), { recursive: true });
      await writeFile(join(stage, path), bytes);
    }
    const old = `${stage}-old`;
    let moved = false;
    try {
      await rename(target, old);
      moved = true;
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") throw err;
    }
    await rename(stage, target);
    if (moved) await rm(old, { recursive: true, force: true });
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

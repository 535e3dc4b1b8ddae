import { copyFile, mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { syncFolder } from "./atomic-write.js";
import { DAMAGED_FOLDER } from "./store-layout.js";

/**
 * Copies (or moves) file `name` of the store in `dir` to `damaged/<name>.<timestamp>`, where an
 * operator can still look at it or restore it by hand; returns the new path.
 */
export async function setAside(dir: string, name: string, how: "copy" | "move"): Promise<string> {
  const folder = join(dir, DAMAGED_FOLDER);
  await mkdir(folder, { recursive: true });
  const target = join(folder, `${name}.${new Date().toISOString().replace(/[:.]/g, "-")}`);
  if (how === "copy") await copyFile(join(dir, name), target);
  else await rename(join(dir, name), target);
  await syncFolder(folder);
  if (how === "move") await syncFolder(dir);
  return target;
}

/**
 * setAside, best effort: a full or read-only disk must not turn a finding into a different
 * failure. The new path goes to `keptAside`, a failure to `warnings`.
 */
export async function keepAside(dir: string, name: string, how: "copy" | "move", keptAside: string[], warnings: string[]): Promise<void> {
  try {
    keptAside.push(await setAside(dir, name, how));
  } catch (err) {
    warnings.push(`${name} could not be ${how === "copy" ? "copied" : "moved"} to damaged/ (${(err as Error).message}); it was left in place`);
  }
}

import { copyFile, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Copies the folder `from` to `to` (created if needed), skipping dot-entries and any folder named
 * in `skip`. Only regular files and folders are copied.
 */
export async function copyFolder(from: string, to: string, skip: ReadonlySet<string> = new Set()): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || skip.has(entry.name)) continue;
    if (entry.isDirectory()) await copyFolder(join(from, entry.name), join(to, entry.name), skip);
    else if (entry.isFile()) await copyFile(join(from, entry.name), join(to, entry.name));
  }
}

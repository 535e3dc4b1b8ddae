import { open, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { CHECKPOINT_FILE, DAMAGED_FOLDER, JOURNAL_FILE, META_FILE } from "./store-layout.js";

const HASH = /[0-9a-f]{64}/g;

/**
 * Every version hash a mod's state folder may name: meta.json, checkpoint headers, and journal
 * records that hand over to a version. Over-approximates (any 64-hex token counts), never under.
 */
export async function scanReferences(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw err;
  }
  for (const name of names) {
    const path = join(dir, name);
    let text: string;
    if (CHECKPOINT_FILE.test(name)) {
      const file = await open(path, "r");
      try {
        const buffer = Buffer.alloc(4096);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
        text = buffer.toString("utf8", 0, bytesRead).split("\n")[0] ?? "";
      } finally {
        await file.close();
      }
    } else if (JOURNAL_FILE.test(name) || name === META_FILE) {
      text = await readFile(path, "utf8");
    } else if (name === DAMAGED_FOLDER) {
      // Files kept aside may be restored by hand: keep the versions they name.
      for (const hash of await scanReferences(path)) out.add(hash);
      // A file there that cannot be read (a folder, no permission) names no version we could keep.
      for (const file of await readdir(path)) for (const m of (await readFile(join(path, file), "utf8").catch(() => "")).matchAll(HASH)) out.add(m[0]);
      continue;
    } else continue;
    for (const m of text.matchAll(HASH)) out.add(m[0]);
  }
  return out;
}

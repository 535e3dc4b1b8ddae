import { open } from "node:fs/promises";
import { join } from "node:path";
import { MAX_MANIFEST_CHARS } from "./mod-manifest.js";

/**
 * Reads `dir/mod.json` as text, but never more than a little past MAX_MANIFEST_CHARS bytes: a
 * huge file is not read whole only to be refused by parseManifest (which sees the cut text is
 * over its size limit). Rejects as readFile does (ENOENT, EISDIR, ...).
 */
export async function readManifestText(dir: string): Promise<string> {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit: this many bytes always decode to more than
  // MAX_MANIFEST_CHARS characters when the file is over the limit.
  const maxBytes = MAX_MANIFEST_CHARS * 3 + 4;
  const handle = await open(join(dir, "mod.json"), "r");
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length).toString("utf8");
  } finally {
    await handle.close();
  }
}

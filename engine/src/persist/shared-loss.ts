import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { atomicWrite } from "./atomic-write.js";
import { SHARED_LOSS_FILE } from "./store-layout.js";

/**
 * Adds `lines` (what the shared journal's redo found lost) to the mod folder's note, which faults
 * the mod (E_STATE_CORRUPT) on every start until the operator accepts the loss. A note rather than
 * memory: the shared journal is gone after redo, the finding must outlive a clean restart.
 */
export async function writeSharedLoss(dir: string, lines: readonly string[]): Promise<void> {
  const previous = await readSharedLoss(dir);
  await atomicWrite(join(dir, SHARED_LOSS_FILE), JSON.stringify({ format: 1, lost: [...previous, ...lines] }));
}

/** The note's lines; a missing note has none, a damaged one says so (it still faults the mod). */
export async function readSharedLoss(dir: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(join(dir, SHARED_LOSS_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  try {
    const lost = (JSON.parse(text) as { lost?: unknown }).lost;
    if (Array.isArray(lost) && lost.every((line) => typeof line === "string")) return lost as string[];
  } catch (err) {
    return [`${SHARED_LOSS_FILE} is damaged (${(err as Error).message}); it recorded journal records lost after a crash`];
  }
  return [`${SHARED_LOSS_FILE} is incomplete; it recorded journal records lost after a crash`];
}

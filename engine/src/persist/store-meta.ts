import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import { atomicWrite } from "./atomic-write.js";
import { keepAside } from "./damaged-files.js";
import { META_FILE } from "./store-layout.js";
import type { ModMeta } from "./store-types.js";

/** The newest durable checkpoint's segment and its last sequence number: the journal's high-water mark. */
export interface DurablePoint {
  readonly segment: number;
  readonly seq: number;
}

/** meta.json as read back: the mod's meta and, when it was written with them, the high-water mark. */
export type StoredMeta = ModMeta & { readonly segment?: number; readonly seq?: number };

/** Writes meta.json of the store in `dir` atomically, with the high-water mark. */
export async function writeMetaFile(dir: string, meta: ModMeta, durable: DurablePoint): Promise<void> {
  await atomicWrite(join(dir, META_FILE), JSON.stringify({ format: 1, ...meta, segment: durable.segment, seq: durable.seq }));
}

/** Removes meta.json of the store in `dir` (recovery that starts over forgets the mod's history). */
export async function removeMetaFile(dir: string): Promise<void> {
  await rm(join(dir, META_FILE), { force: true });
}

/**
 * meta.json of the store in `dir`, or undefined (with a warning, the file copied aside) when it
 * is damaged. Throws E_STATE_FORMAT when a newer modhost wrote it.
 */
export async function readMetaFile(dir: string, warnings: string[], keptAside: string[]): Promise<StoredMeta | undefined> {
  const path = join(dir, META_FILE);
  let raw: Partial<ModMeta> & { format?: unknown; segment?: unknown; seq?: unknown };
  let problem: string | undefined;
  try {
    raw = JSON.parse(await readFile(path, "utf8")) as typeof raw;
    if (typeof raw !== "object" || raw === null) throw new Error("it is not a JSON object");
  } catch (err) {
    raw = {};
    problem = (err as Error).message;
  }
  if (problem === undefined && typeof raw.format === "number" && raw.format > 1) {
    throw new ModhostError("E_STATE_FORMAT", `${path} was written by a newer modhost (format ${raw.format}); this one reads format 1. Upgrade modhost or use another stateDir.`);
  }
  if (problem === undefined && raw.format !== 1) problem = `its format is ${JSON.stringify(raw.format)}, expected the number 1`;
  if (problem === undefined && (typeof raw.live !== "string" || !Array.isArray(raw.history) || raw.history.some((h) => typeof h !== "string"))) problem = "the live version or the history is missing";
  if (problem !== undefined) {
    await keepAside(dir, META_FILE, "copy", keptAside, warnings);
    warnings.push(
      `meta.json is damaged (${problem}); the live version was taken from the checkpoint and journal, and the version history, quarantine flag and journal high-water mark it held are lost (missing journal segments at the end cannot be detected this time). It was rewritten; the damaged copy is in damaged/`,
    );
    return undefined;
  }
  return {
    live: raw.live as string,
    history: raw.history as string[],
    quarantined: raw.quarantined === true,
    ...(typeof raw.segment === "number" ? { segment: raw.segment } : {}),
    ...(typeof raw.seq === "number" ? { seq: raw.seq } : {}),
  };
}

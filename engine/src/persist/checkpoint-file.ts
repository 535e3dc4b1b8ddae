import { crc32 } from "node:zlib";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import type { StateSnapshot } from "../model/wire.js";
import { atomicWrite } from "./atomic-write.js";
import { checkpointName } from "./store-layout.js";

/**
 * A checkpoint's header line: format, version hash, random generator position, checksum of the
 * state. `segment` and `seq` (its segment and last sequence number) are written since the journal
 * chain is checked. The state's JSON text follows the header line.
 */
export interface CheckpointHeader {
  readonly format: 1;
  readonly version: string;
  readonly rng: readonly number[];
  readonly checksum: number;
  readonly segment?: number;
  readonly seq?: number;
}

/** Writes checkpoint `segment` of the store in `dir` atomically. */
export async function writeCheckpoint(dir: string, segment: number, snapshot: StateSnapshot, version: string, seq: number): Promise<void> {
  const header: CheckpointHeader = { format: 1, version, rng: snapshot.rng, checksum: crc32(snapshot.state), segment, seq };
  await atomicWrite(join(dir, checkpointName(segment)), `${JSON.stringify(header)}\n${snapshot.state}`);
}

/**
 * Reads checkpoint `n` of the store in `dir` back whole. Throws a plain Error saying what is
 * damaged, or E_STATE_FORMAT when a newer modhost wrote it.
 */
export async function readCheckpoint(dir: string, n: number): Promise<{ snapshot: StateSnapshot; header: CheckpointHeader }> {
  const text = await readFile(join(dir, checkpointName(n)), "utf8");
  const newline = text.indexOf("\n");
  if (newline < 0) throw new Error("it has no header line (the file is cut short)");
  let header: Partial<CheckpointHeader> & { format?: unknown };
  try {
    header = JSON.parse(text.slice(0, newline)) as Partial<CheckpointHeader>;
  } catch (err) {
    throw new Error(`its header is not JSON: ${(err as Error).message}`);
  }
  if (typeof header.format === "number" && header.format > 1) {
    throw new ModhostError("E_STATE_FORMAT", `${join(dir, checkpointName(n))} was written by a newer modhost (format ${header.format}); this one reads format 1`);
  }
  if (header.format !== 1) throw new Error(`its header has format ${JSON.stringify(header.format)}, expected 1`);
  const state = text.slice(newline + 1);
  if (crc32(state) !== header.checksum) throw new Error("the state fails its checksum");
  if (typeof header.version !== "string" || !Array.isArray(header.rng)) throw new Error("the header is incomplete");
  JSON.parse(state); // a checksum collision on garbage would still fail here
  return { snapshot: { state, rng: [...header.rng] }, header: header as CheckpointHeader };
}

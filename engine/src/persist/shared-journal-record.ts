import { crc32 } from "node:zlib";
import { crcHex } from "./journal-file.js";

/**
 * Where a batch of one mod's journal records belongs: mod `mod`, its segment `seg`, starting at
 * byte `at` of that segment's file.
 */
export interface SharedBatchPlace {
  readonly mod: string;
  readonly seg: number;
  readonly at: number;
}

/** A batch read back from the shared journal: its place and its bytes (whole per-mod record lines). */
export interface SharedBatch extends SharedBatchPlace {
  readonly payload: Buffer;
  /** Where its header starts in the shared journal segment. */
  readonly offset: number;
}

/**
 * A batch as stored in the shared journal: a header line `W <crc32hex> <json>\n` (the JSON names the
 * place, the payload's length and checksum; the checksum covers the JSON), then the payload bytes
 * exactly as they were appended to the mod's own segment. The "W " prefix cannot start a per-mod
 * record line (those start with eight hex digits), so a reader can find the next header after damage.
 * Returns the header line; the payload follows it unchanged.
 */
export function batchHeader(place: SharedBatchPlace, payload: Buffer): Buffer {
  const json = JSON.stringify({ mod: place.mod, seg: place.seg, at: place.at, bytes: payload.length, crc: crc32(payload) });
  return Buffer.from(`W ${crcHex(json)} ${json}\n`, "utf8");
}

/** What reading a shared journal segment found: its batches, and where it is damaged. */
export interface SharedJournalRead {
  readonly batches: SharedBatch[];
  /** Offsets where a batch could not be read; reading went on at the next header. */
  readonly damage: { readonly offset: number; readonly reason: string; readonly followedByValid: boolean }[];
}

/** Reads a shared journal segment's bytes; damaged batches are skipped (see SharedJournalRead). */
export function scanSharedJournal(data: Buffer): SharedJournalRead {
  const batches: SharedBatch[] = [];
  const damage: { offset: number; reason: string; followedByValid: boolean }[] = [];
  let offset = 0;
  while (offset < data.length) {
    const parsed = parseBatch(data, offset);
    if (parsed.ok) {
      batches.push(parsed.batch);
      offset = parsed.next;
      continue;
    }
    // Go on at the next line that reads as a batch header.
    let next = -1;
    for (let at = data.indexOf("\nW ", offset); at >= 0; at = data.indexOf("\nW ", at + 1)) {
      if (parseBatch(data, at + 1).ok) {
        next = at + 1;
        break;
      }
    }
    damage.push({ offset, reason: parsed.reason, followedByValid: next >= 0 });
    if (next < 0) break;
    offset = next;
  }
  return { batches, damage };
}

function parseBatch(data: Buffer, offset: number): { ok: true; batch: SharedBatch; next: number } | { ok: false; reason: string } {
  const newline = data.indexOf(0x0a, offset);
  if (newline < 0) return { ok: false, reason: "the last batch is cut short (torn write)" };
  const line = data.toString("utf8", offset, newline);
  if (!line.startsWith("W ") || line[10] !== " ") return { ok: false, reason: "a batch header is not where one should be" };
  const json = line.slice(11);
  if (crcHex(json) !== line.slice(2, 10)) return { ok: false, reason: "a batch header fails its checksum" };
  let header: { mod?: unknown; seg?: unknown; at?: unknown; bytes?: unknown; crc?: unknown };
  try {
    header = JSON.parse(json) as typeof header;
  } catch (err) {
    return { ok: false, reason: `a batch header is not JSON: ${(err as Error).message}` };
  }
  const { mod, seg, at, bytes, crc } = header;
  if (typeof mod !== "string" || typeof seg !== "number" || typeof at !== "number" || typeof bytes !== "number" || typeof crc !== "number") return { ok: false, reason: "a batch header is incomplete" };
  const end = newline + 1 + bytes;
  if (end > data.length) return { ok: false, reason: "the last batch is cut short (torn write)" };
  const payload = data.subarray(newline + 1, end);
  if (crc32(payload) !== crc) return { ok: false, reason: "a batch fails its checksum" };
  return { ok: true, batch: { mod, seg, at, payload, offset }, next: end };
}

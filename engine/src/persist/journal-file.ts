import { crc32 } from "node:zlib";
import { open, readFile, truncate, type FileHandle } from "node:fs/promises";
import type { DurableEntry } from "./durable-entry.js";

/**
 * One journal segment: an append-only file of records, one per line: `crc32hex json\n`, where the
 * JSON is `{"seq":n,"entry":{...}}` and the checksum covers the JSON text.
 *
 * Appends are all-or-nothing at record level: a short write is continued, and a write (or sync)
 * that fails truncates the file back to the end of the last good append before anything else
 * is appended, so a failed write never leaves half a record in the middle of a segment.
 */
export class JournalFile {
  readonly path: string;
  readonly #file: FileHandle;
  /** The end of the last append that fully succeeded. */
  #goodSize: number;
  /** A failed append could not be rolled back yet: the next append must do it first. */
  #dirty = false;
  #closed = false;

  private constructor(path: string, file: FileHandle, size: number) {
    this.path = path;
    this.#file = file;
    this.#goodSize = size;
  }

  /** Opens (creating if needed) a segment for appending. */
  static async open(path: string): Promise<JournalFile> {
    const file = await open(path, "a");
    try {
      return new JournalFile(path, file, (await file.stat()).size);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** Bytes of fully written records. */
  get size(): number {
    return this.#goodSize;
  }

  /**
   * Appends records; returns the bytes written. Not synced: call sync() for durability. On failure
   * nothing of these records stays in the file (or, if even the roll-back failed, the next append
   * retries the roll-back first and fails if it cannot).
   */
  async append(records: readonly { seq: number; entry: DurableEntry }[]): Promise<number> {
    const bytes = encodeRecords(records);
    await this.appendBytes(bytes);
    return bytes.length;
  }

  /** Appends records already encoded (encodeRecords); all-or-nothing like append(). */
  async appendBytes(bytes: Buffer): Promise<void> {
    await this.appendChunks([bytes]);
  }

  /**
   * Appends pieces of encoded records as one write (writev: the pieces are not copied into one
   * buffer first); all-or-nothing like append(). Returns the bytes written.
   */
  async appendChunks(chunks: readonly Buffer[]): Promise<number> {
    if (this.#dirty) await this.#rollBack();
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    try {
      // write(2) may write less than asked (a filesystem filling up): continue until all is written.
      let rest = chunks;
      let done = 0;
      while (done < total) {
        const { bytesWritten } = rest.length === 1 ? await this.#file.write(rest[0] as Buffer) : await this.#file.writev(rest);
        if (bytesWritten <= 0) throw new Error(`the write made no progress at byte ${this.#goodSize + done}`);
        done += bytesWritten;
        if (done < total) rest = after(rest, bytesWritten);
      }
    } catch (err) {
      await this.#failed();
      throw err;
    }
    this.#goodSize += total;
    return total;
  }

  /**
   * Makes every append so far durable (fdatasync). After a failed sync the kernel may have dropped
   * the dirty pages, so the caller discards what it appended since its last good sync (discardSince).
   */
  async sync(): Promise<void> {
    await this.#file.datasync();
  }

  /** Marks the bytes since the last good append as not kept (callers whose sync failed). */
  async discardSince(size: number): Promise<void> {
    this.#goodSize = Math.min(this.#goodSize, size);
    this.#dirty = true;
    await this.#rollBack().catch(() => undefined); // retried before the next append
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#file.close();
  }

  async #failed(): Promise<void> {
    this.#dirty = true;
    // Best effort now; a failure here is retried (and reported) by the next append.
    await this.#rollBack().catch(() => undefined);
  }

  async #rollBack(): Promise<void> {
    await this.#file.truncate(this.#goodSize);
    this.#dirty = false;
  }
}

/** What is left of `chunks` once their first `n` bytes were written. */
function after(chunks: readonly Buffer[], n: number): Buffer[] {
  let skip = n;
  let i = 0;
  while (i < chunks.length && skip >= (chunks[i] as Buffer).length) skip -= (chunks[i++] as Buffer).length;
  const rest = chunks.slice(i);
  if (skip > 0 && rest.length > 0) rest[0] = (rest[0] as Buffer).subarray(skip);
  return rest;
}

/** A record as one journal line. */
export function encodeRecord(seq: number, entry: DurableEntry): string {
  const json = recordJson(seq, entry);
  return `${crcHex(json)} ${json}\n`;
}

/**
 * A record's JSON text, exactly what `JSON.stringify({ seq, entry })` gives for the entries the
 * engine makes. Events (one per mod and event: the hot path) are written out by hand, which is
 * cheaper than stringifying three nested objects; anything unusual (a number JSON would turn into
 * null) goes through JSON.stringify.
 */
export function recordJson(seq: number, entry: DurableEntry): string {
  if (entry.kind === "event") {
    const e = entry.event;
    if (Number.isFinite(seq) && Number.isFinite(e.seq) && Number.isFinite(e.now)) {
      const caps = e.caps === undefined ? "" : `,"caps":${JSON.stringify(e.caps)}`;
      return `{"seq":${seq},"entry":{"kind":"event","event":{"seq":${e.seq},"name":${JSON.stringify(e.name)},"payload":${JSON.stringify(e.payload)},"now":${e.now}${caps}}}}`;
    }
  }
  return JSON.stringify({ seq, entry });
}

/** Two hex digits per byte value: a table lookup is several times cheaper than toString(16).padStart(8). */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The crc32 of `data` as eight lower-case hex digits (the checksum prefix of journal lines). */
export function crcHex(data: string | Buffer): string {
  const c = crc32(data);
  return (HEX_BYTE[c >>> 24] as string) + (HEX_BYTE[(c >>> 16) & 255] as string) + (HEX_BYTE[(c >>> 8) & 255] as string) + (HEX_BYTE[c & 255] as string);
}

/** Records as journal lines, in one buffer (what append() writes). */
export function encodeRecords(records: readonly { seq: number; entry: DurableEntry }[]): Buffer {
  let text = "";
  for (const record of records) text += encodeRecord(record.seq, record.entry);
  return Buffer.from(text, "utf8");
}

/** Where a segment stops being valid, and whether valid records follow (then it is not a torn tail). */
export interface JournalDamage {
  readonly offset: number;
  readonly reason: string;
  /** Valid records come after the damage: corruption, not a write torn by a crash. */
  readonly followedByValid: boolean;
}

/** The valid records of a segment (up to the first damage), and the damage if any. */
export interface JournalRead {
  readonly records: { seq: number; entry: DurableEntry }[];
  readonly damage?: JournalDamage;
  /** Bytes of valid records (where a cut would go). */
  readonly validBytes: number;
}

/**
 * Reads a segment. A record that is cut short, fails its checksum or is not JSON ends the valid
 * part; the rest is scanned for further valid records to tell a torn tail (nothing valid after
 * it) from damage in the middle. Never modifies the file: see cutJournal().
 */
export async function readJournal(path: string): Promise<JournalRead> {
  return scanJournal(await readFile(path));
}

/** readJournal() of a segment's bytes already read. */
export function scanJournal(data: Buffer): JournalRead {
  const records: { seq: number; entry: DurableEntry }[] = [];
  let offset = 0;
  let damage: { offset: number; reason: string } | undefined;
  while (offset < data.length) {
    const parsed = parseLine(data, offset);
    if (!parsed.ok) {
      damage = { offset, reason: parsed.reason };
      break;
    }
    records.push(parsed.record);
    offset = parsed.next;
  }
  if (damage === undefined) return { records, validBytes: offset };
  // Is any valid record after the damage? Look at every later line start.
  let followedByValid = false;
  for (let at = data.indexOf(0x0a, damage.offset); at >= 0 && at + 1 < data.length; at = data.indexOf(0x0a, at + 1)) {
    if (parseLine(data, at + 1).ok) {
      followedByValid = true;
      break;
    }
  }
  return { records, validBytes: damage.offset, damage: { ...damage, followedByValid } };
}

/** Cuts a segment at `offset` (a torn tail, or damage the operator accepted to lose). */
export async function cutJournal(path: string, offset: number): Promise<void> {
  await truncate(path, offset);
}

function parseLine(data: Buffer, offset: number): { ok: true; record: { seq: number; entry: DurableEntry }; next: number } | { ok: false; reason: string } {
  const newline = data.indexOf(0x0a, offset);
  if (newline < 0) return { ok: false, reason: "the last record is cut short (torn write)" };
  const line = data.toString("utf8", offset, newline);
  const space = line.indexOf(" ");
  const json = line.slice(space + 1);
  if (space !== 8 || crcHex(json) !== line.slice(0, 8)) return { ok: false, reason: "a record fails its checksum" };
  try {
    const record = JSON.parse(json) as { seq: number; entry: DurableEntry };
    if (typeof record !== "object" || record === null || typeof record.seq !== "number" || typeof record.entry !== "object") return { ok: false, reason: "a record is not a journal record" };
    return { ok: true, record, next: newline + 1 };
  } catch (err) {
    return { ok: false, reason: `a record is not JSON: ${(err as Error).message}` };
  }
}

import { crc32 } from "node:zlib";
import { open, readFile, truncate, type FileHandle } from "node:fs/promises";
import type { DurableEntry } from "./durable-entry.js";

/**
 * One journal segment: an append-only file of records, one per line: `crc32hex json\n`, where the
 * JSON is `{"seq":n,"entry":{...}}` and the checksum covers the JSON text. A torn or corrupt tail
 * (a crash mid-write) is detected on read and cut at the last valid record.
 */
export class JournalFile {
  readonly path: string;
  readonly #file: FileHandle;
  #closed = false;

  private constructor(path: string, file: FileHandle) {
    this.path = path;
    this.#file = file;
  }

  /** Opens (creating if needed) a segment for appending. */
  static async open(path: string): Promise<JournalFile> {
    return new JournalFile(path, await open(path, "a"));
  }

  /** Appends records; returns the bytes written. Not synced: call sync() for durability. */
  async append(records: readonly { seq: number; entry: DurableEntry }[]): Promise<number> {
    let text = "";
    for (const record of records) text += encodeRecord(record.seq, record.entry);
    const bytes = Buffer.from(text, "utf8");
    await this.#file.write(bytes);
    return bytes.length;
  }

  /** Makes every append so far durable (fdatasync). */
  async sync(): Promise<void> {
    await this.#file.datasync();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#file.close();
  }
}

/** A record as one journal line. */
export function encodeRecord(seq: number, entry: DurableEntry): string {
  const json = JSON.stringify({ seq, entry });
  return `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`;
}

/** The valid records of a segment, and where a damaged tail was cut (if it was). */
export interface JournalRead {
  readonly records: { seq: number; entry: DurableEntry }[];
  /** Set when bytes past the last valid record were found (and cut, if `repair`). */
  readonly damage?: { readonly offset: number; readonly reason: string };
}

/**
 * Reads a segment. A record that is cut short, fails its checksum or is not JSON ends the valid
 * part; with `repair` the file is truncated there so that appends continue from a clean end.
 */
export async function readJournal(path: string, repair: boolean): Promise<JournalRead> {
  const data = await readFile(path);
  const records: { seq: number; entry: DurableEntry }[] = [];
  let offset = 0;
  let damage: { offset: number; reason: string } | undefined;
  while (offset < data.length) {
    const newline = data.indexOf(0x0a, offset);
    if (newline < 0) {
      damage = { offset, reason: "the last record is cut short (torn write)" };
      break;
    }
    const line = data.toString("utf8", offset, newline);
    const space = line.indexOf(" ");
    const json = line.slice(space + 1);
    if (space !== 8 || crc32(json).toString(16).padStart(8, "0") !== line.slice(0, 8)) {
      damage = { offset, reason: "a record fails its checksum" };
      break;
    }
    try {
      records.push(JSON.parse(json) as { seq: number; entry: DurableEntry });
    } catch (err) {
      damage = { offset, reason: `a record is not JSON: ${(err as Error).message}` };
      break;
    }
    offset = newline + 1;
  }
  if (damage !== undefined && repair) await truncate(path, damage.offset);
  return damage === undefined ? { records } : { records, damage };
}

import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { DurableEntry } from "./durable-entry.js";
import { JournalFile, crcHex, encodeRecords, recordJson, scanJournal } from "./journal-file.js";

let root: string | undefined;
afterEach(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  root = undefined;
});

const ev = (seq: number, name: string, payload: unknown, extra: { now?: number; caps?: { permission: string; reply: string }[] } = {}): DurableEntry => ({
  kind: "event",
  event: { seq, name, payload: JSON.stringify(payload), now: extra.now ?? 1_764_758_400_000 + seq, ...(extra.caps !== undefined ? { caps: extra.caps } : {}) },
});

describe("journal records", () => {
  it("an event record is written by hand exactly as JSON.stringify({ seq, entry }) writes it", () => {
    const entries: DurableEntry[] = [
      ev(1, "attack", { attacker: "e1", target: "e2", power: 1.5 }),
      ev(2, 'na"me\\with\nescapes', { text: 'quotes " and \\ and \u2028 and \u0007', emoji: "\u{1F600}", lone: "\uD800x" }),
      ev(3, "ünïcödé", [null, -0, 1e21, 5e-7, true, "\uDFFF"], { now: -0 }),
      ev(4, "caps", { a: 1 }, { caps: [{ permission: "economy.pay", reply: '{"ok":true,"value":"\\u0001"}' }] }),
      ev(5, "empty", null, { caps: [] }),
      { kind: "activate", version: "a".repeat(64) },
      { kind: "migrate", version: "b".repeat(64), fromVersion: "c".repeat(64), now: 17 },
    ];
    for (const [i, entry] of entries.entries()) {
      const seq = entry.kind === "event" ? entry.event.seq : 40 + i;
      expect(recordJson(seq, entry)).toBe(JSON.stringify({ seq, entry }));
    }
    // Read back: the same records, each line's checksum valid.
    const read = scanJournal(encodeRecords(entries.map((entry, i) => ({ seq: entry.kind === "event" ? entry.event.seq : 40 + i, entry }))));
    expect(read.damage).toBeUndefined();
    expect(read.records.map((r) => r.entry)).toEqual(JSON.parse(JSON.stringify(entries)));
  });

  it("a number JSON cannot hold is written as JSON.stringify writes it (null), not as invalid JSON", () => {
    const entry = ev(7, "odd", 1, { now: Number.NaN });
    expect(recordJson(7, entry)).toBe(JSON.stringify({ seq: 7, entry }));
    expect(recordJson(Number.POSITIVE_INFINITY, ev(8, "odd", 1))).toContain('"seq":null');
  });

  it("crcHex is the crc32 as eight lower-case hex digits, leading zeros kept", () => {
    let small = 0;
    for (let i = 0; i < 1500; i++) {
      const text = `record ${i} ${"x".repeat(i % 37)}`;
      const c = crc32(text);
      if (c < 0x10000000) small++;
      expect(crcHex(text)).toBe(c.toString(16).padStart(8, "0"));
      expect(crcHex(Buffer.from(text))).toBe(c.toString(16).padStart(8, "0"));
    }
    expect(small).toBeGreaterThan(0); // the leading-zero case was met
  });

  it("appendChunks writes many pieces (more than one writev takes) in order, as one append", async () => {
    root = await mkdtemp(join(tmpdir(), "modhost-journal-file-"));
    const path = join(root, "journal.log");
    const file = await JournalFile.open(path);
    const chunks = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${i}:${"y".repeat(i % 300)}\n`));
    const expected = Buffer.concat(chunks);
    expect(await file.appendChunks(chunks)).toBe(expected.length);
    expect(file.size).toBe(expected.length);
    await file.appendChunks([Buffer.from("tail\n")]);
    await file.close();
    expect((await readFile(path)).equals(Buffer.concat([expected, Buffer.from("tail\n")]))).toBe(true);
  });
});

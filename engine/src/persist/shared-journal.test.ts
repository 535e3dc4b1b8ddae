import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DurableEntry } from "./durable-entry.js";
import { GroupCommit } from "./group-commit.js";
import { readJournal } from "./journal-file.js";
import { ModStore } from "./mod-store.js";
import { SharedJournal } from "./shared-journal.js";
import { redoSharedJournal } from "./shared-journal-redo.js";
import { readSharedLoss } from "./shared-loss.js";
import { journalName } from "./store-layout.js";

let root: string | undefined;
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  root = undefined;
});

const counts = { syncs: 0, records: 0 };
const observer = { journalWrite: (records: number): void => void (counts.records += records), journalSync: (): void => void counts.syncs++ };
const seqOf = (entry: DurableEntry): number => (entry.kind === "event" ? entry.event.seq : 0);
const event = (seq: number, pad = 40): DurableEntry => ({ kind: "event", event: { seq, name: "inc", payload: JSON.stringify({ i: seq, pad: "x".repeat(pad) }), now: 0 } });

/** A stateDir-like layout: `mods/<name>/` stores sharing one journal in `wal/`. */
async function setUp(names: readonly string[], segmentBytes?: number) {
  root = await mkdtemp(join(tmpdir(), "modhost-shared-journal-"));
  const modsDir = join(root, "mods");
  const walDir = join(root, "wal");
  const errors: Error[] = [];
  const shared = await SharedJournal.open(walDir, { onSync: () => counts.syncs++, onError: (err) => errors.push(err), ...(segmentBytes !== undefined ? { segmentBytes } : {}) });
  const group = new GroupCommit(() => counts.syncs++);
  const stores = names.map((name) => ModStore.openSync(modsDir, name, "batch", group, observer, shared));
  return { modsDir, walDir, shared, stores, errors };
}

const walFiles = async (walDir: string): Promise<string[]> => (await readdir(walDir)).filter((name) => name.startsWith("wal-")).sort();

describe("shared journal", () => {
  it("100 stores' batches of one round go to one file with one sync, not 100", async () => {
    const { walDir, shared, stores, modsDir } = await setUp(Array.from({ length: 100 }, (_, i) => `m${i}`));
    const round = (n: number): Promise<unknown> => Promise.all(stores.map((store) => store.append([event(n * 10), event(n * 10 + 1)], seqOf)));
    await round(1); // opens every store's folder and segment: its batches arrive over several turns
    counts.syncs = 0;
    for (let n = 2; n <= 5; n++) await round(n);
    // Once the files are open, a round's 100 batches arrive in one event-loop turn and the group
    // commit starts at its end: one write and one sync a round (one journal file per mod needed 100).
    expect(counts.syncs).toBe(4);
    expect(await walFiles(walDir)).toHaveLength(1);
    for (const store of stores) await store.close();
    await shared.close(true);
    expect(await walFiles(walDir)).toEqual([]); // every store synced its own file: the shared copy went
    const read = await readJournal(join(modsDir, "m42", journalName(0)));
    expect(read.records.map((r) => r.seq)).toEqual([10, 11, 20, 21, 30, 31, 40, 41, 50, 51]);
    expect(read.damage).toBeUndefined();
  });

  it("compaction: a full segment is retired once every store synced its own file; at most two stay", async () => {
    const { walDir, shared, stores, modsDir, errors } = await setUp(["a", "b", "c"], 4096);
    for (let round = 1; round <= 200; round++) {
      await Promise.all(stores.map((store) => store.append([event(round)], seqOf)));
      expect((await walFiles(walDir)).length).toBeLessThanOrEqual(2);
    }
    expect(shared.segment).toBeGreaterThan(10); // it did rotate, many times
    expect(errors).toEqual([]);
    for (const store of stores) await store.close();
    await shared.close(true);
    expect(await walFiles(walDir)).toEqual([]);
    for (const name of ["a", "b", "c"]) expect((await readJournal(join(modsDir, name, journalName(0)))).records).toHaveLength(200);
  });

  it("redo writes back a mod's tail a machine crash took (truncated, torn, or the file gone), byte for byte", async () => {
    const { modsDir, walDir, shared, stores } = await setUp(["a", "b", "c"]);
    for (let round = 1; round <= 20; round++) await Promise.all(stores.map((store) => store.append([event(round), event(round + 1000)], seqOf)));
    const paths = ["a", "b", "c"].map((name) => join(modsDir, name, journalName(0)));
    // A crash: nothing closed, nothing flushed (closing the handles changes no bytes). The stores
    // keep batches in memory up to 64 KiB, so their files lack most of them, as after a machine crash.
    for (const store of stores) closers.push(() => store.close());
    await shared.close(false);
    await writeFile(paths[0] as string, "0123abcd {\"seq\":1,\"ent"); // a torn write at the very start
    await rm(paths[1] as string); // gone entirely
    const result = await redoSharedJournal(walDir, modsDir);
    expect([...result.damage]).toEqual([]);
    const expected = Array.from({ length: 20 }, (_, i) => [i + 1, i + 1001]).flat();
    for (const path of paths) {
      const read = await readJournal(path as string);
      expect(read.damage).toBeUndefined();
      expect(read.records.map((r) => r.seq)).toEqual(expected);
    }
    expect(result.warnings.join("\n")).toMatch(/a\/journal-00000000\.log: 20 journal batches written back from byte 0/);
    expect(result.warnings.join("\n")).toMatch(/b\/journal-00000000\.log: 20 journal batches written back from byte 0/);
    expect(await walFiles(walDir)).toEqual([]); // repaired durably: the shared copy is gone
  });

  it("a damaged batch in the shared journal: only the mod that lost records by it is noted (and it stays noted)", async () => {
    const { modsDir, walDir, shared, stores } = await setUp(["a", "b", "c"]);
    for (let round = 1; round <= 10; round++) {
      for (const store of stores) await store.append([event(round)], seqOf); // one group per append: a known order
    }
    for (const store of stores) closers.push(() => store.close());
    await shared.close(false);
    const [wal] = await walFiles(walDir);
    const walPath = join(walDir, wal as string);
    const text = await readFile(walPath, "utf8");
    // Flip a byte inside b's fifth batch (every batch has a header line naming its mod).
    const headers = [...text.matchAll(/^W [0-9a-f]{8} (\{[^\n]*\})$/gm)];
    const fifthOfB = headers.filter((m) => JSON.parse(m[1] as string).mod === "b")[4] as RegExpMatchArray;
    const at = (fifthOfB.index as number) + (fifthOfB[0] as string).length + 20;
    const bytes = Buffer.from(text, "utf8");
    bytes[at] = (bytes[at] as number) ^ 0x01;
    await writeFile(walPath, bytes);
    // The machine crashed too: b's and c's files lost what they had (a's holds what it held: the
    // stores keep up to 64 KiB in memory, so little or nothing).
    await truncate(join(modsDir, "b", journalName(0)), 0);
    await truncate(join(modsDir, "c", journalName(0)), 0);
    const result = await redoSharedJournal(walDir, modsDir);
    expect([...result.damage.keys()]).toEqual(["b"]);
    expect(result.damage.get("b")?.[0]).toMatch(/journal-00000000\.log ends at byte \d+ .* the records between are in neither copy .*wal-00000001\.log/);
    expect(result.warnings.join("\n")).toMatch(/wal-00000001\.log: a batch fails its checksum at byte \d+/);
    expect((await readJournal(join(modsDir, "c", journalName(0)))).records).toHaveLength(10);
    expect((await readJournal(join(modsDir, "b", journalName(0)))).records).toHaveLength(4); // up to the gap, nothing after it
    expect(await readSharedLoss(join(modsDir, "b"))).toHaveLength(1);
    expect(await readSharedLoss(join(modsDir, "a"))).toEqual([]);
    expect((await readdir(join(walDir, "damaged"))).length).toBe(1); // the damaged segment kept for inspection
  });

  it("a torn end of the shared journal loses nothing acknowledged: a warning only", async () => {
    const { modsDir, walDir, shared, stores } = await setUp(["a"]);
    for (let round = 1; round <= 5; round++) await stores[0]?.append([event(round)], seqOf);
    for (const store of stores) closers.push(() => store.close());
    await shared.close(false);
    const [wal] = await walFiles(walDir);
    await writeFile(join(walDir, wal as string), `${await readFile(join(walDir, wal as string), "utf8")}W 0123abcd {"mod":"a","se`);
    const result = await redoSharedJournal(walDir, modsDir);
    expect([...result.damage]).toEqual([]);
    expect(result.warnings.join("\n")).toMatch(/torn write.*never acknowledged/);
    expect((await readJournal(join(modsDir, "a", journalName(0)))).records).toHaveLength(5);
  });
});

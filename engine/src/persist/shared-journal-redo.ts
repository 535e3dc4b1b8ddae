import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { syncFolder } from "./atomic-write.js";
import { scanJournal } from "./journal-file.js";
import { writeSharedLoss } from "./shared-loss.js";
import { scanSharedJournal, type SharedBatch } from "./shared-journal-record.js";
import { CHECKPOINT_FILE, DAMAGED_FOLDER, SHARED_JOURNAL_FILE, journalName, segmentsOf, sharedJournalName } from "./store-layout.js";

/** What redo did: per mod, records it found lost (recovery reports the mod "corrupt"); and notes. */
export interface RedoResult {
  /** Mod name -> what is lost, naming the files and offsets. */
  readonly damage: Map<string, string[]>;
  /** Repairs made and damage that lost nothing, for the log. */
  readonly warnings: string[];
}

/**
 * Runs on open, before any mod recovers: writes back into each mod's own journal segments what
 * the shared journal (`walDir`) holds and they lack, then deletes the shared segments.
 *
 * After a crash of the game process the mods' segments already hold every record (written, only
 * not synced); after a crash of the machine their unsynced tails may be gone or torn, and the
 * shared copy (synced before any emit was acknowledged) puts them back. Per mod segment, batches
 * are taken in order: one already there byte for byte is skipped; one starting where the valid part
 * of the segment ends is written there (a torn tail after it is cut). A batch starting past the
 * valid end means records before it are missing from both copies (the shared copy was damaged
 * there): that mod's recovery reports it "corrupt" (E_STATE_CORRUPT, the operator decides), and
 * nothing is written after the gap. A damaged shared segment is moved to `walDir/damaged/`.
 */
export async function redoSharedJournal(walDir: string, modsDir: string): Promise<RedoResult> {
  const damage = new Map<string, string[]>();
  const warnings: string[] = [];
  const names = await readdir(walDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  const segments = segmentsOf(names, SHARED_JOURNAL_FILE).sort((a, b) => a - b);
  if (segments.length === 0) return { damage, warnings };

  // Batches per mod segment file, in journal order; and which shared segment was damaged where.
  const byFile = new Map<string, { mod: string; seg: number; batches: SharedBatch[]; wal: string[] }>();
  const damagedWal: string[] = [];
  for (const n of segments) {
    const name = sharedJournalName(n);
    const read = scanSharedJournal(await readFile(join(walDir, name)));
    for (const batch of read.batches) {
      const key = `${batch.mod}\0${batch.seg}`;
      let file = byFile.get(key);
      if (file === undefined) byFile.set(key, (file = { mod: batch.mod, seg: batch.seg, batches: [], wal: [] }));
      file.batches.push(batch);
      if (!file.wal.includes(name)) file.wal.push(name);
    }
    for (const d of read.damage) {
      // A torn end of the newest segment was never acknowledged: nothing is lost by it.
      if (n === segments.at(-1) && !d.followedByValid) {
        warnings.push(`shared journal ${name}: ${d.reason} at byte ${d.offset}, its end (a write torn by a crash; never acknowledged)`);
        continue;
      }
      warnings.push(`shared journal ${name}: ${d.reason} at byte ${d.offset}; the batch there cannot be read (its mod cannot be told); a mod that lost records by it is reported corrupt`);
      if (!damagedWal.includes(name)) damagedWal.push(name);
    }
  }

  for (const file of byFile.values()) {
    const lost = await redoFile(modsDir, file, warnings, damagedWal);
    if (lost !== undefined) damage.set(file.mod, [...(damage.get(file.mod) ?? []), lost]);
  }
  // Before the shared copy goes: the mod stays faulted across restarts until the loss is accepted.
  for (const [mod, lines] of damage) await writeSharedLoss(join(modsDir, mod), lines);

  // The repairs are durable (redoFile syncs): the shared copy is no longer needed.
  for (const name of damagedWal) {
    await mkdir(join(walDir, DAMAGED_FOLDER), { recursive: true });
    const target = join(walDir, DAMAGED_FOLDER, `${name}.${new Date().toISOString().replace(/[:.]/g, "-")}`);
    await rename(join(walDir, name), target);
    warnings.push(`the damaged shared journal segment ${name} was moved to ${target}`);
  }
  for (const n of segments) await rm(join(walDir, sharedJournalName(n)), { force: true });
  await syncFolder(walDir);
  return { damage, warnings };
}

/** Brings one mod segment up to date with its batches; returns what is lost, if anything. */
async function redoFile(modsDir: string, file: { mod: string; seg: number; batches: SharedBatch[]; wal: string[] }, warnings: string[], damagedWal: readonly string[]): Promise<string | undefined> {
  const folder = join(modsDir, file.mod);
  const name = journalName(file.seg);
  const path = join(folder, name);
  if (!(await stat(folder).then((s) => s.isDirectory(), () => false))) {
    warnings.push(`the shared journal holds records of mod ${file.mod}, whose state folder is gone; they were dropped`);
    return undefined;
  }
  const names = await readdir(folder);
  const existed = names.includes(name);
  // A later checkpoint made the segment unneeded and it was removed: its records are in that checkpoint.
  const checkpoints = segmentsOf(names, CHECKPOINT_FILE);
  if (!existed && checkpoints.length > 0 && file.seg < Math.min(...checkpoints)) return undefined;
  let data: Buffer = existed ? await readFile(path) : Buffer.alloc(0);
  let valid = scanJournal(data).validBytes;
  let firstChange: number | undefined;
  let lost: string | undefined;
  let restored = 0;
  for (const batch of file.batches) {
    const end = batch.at + batch.payload.length;
    if (end <= data.length && data.subarray(batch.at, end).equals(batch.payload)) continue;
    // The valid part ends inside or at the start of this batch (a torn or missing tail): write it whole.
    const have = data.subarray(batch.at, Math.max(batch.at, Math.min(valid, end)));
    if (batch.at <= valid && have.equals(batch.payload.subarray(0, have.length))) {
      data = Buffer.concat([data.subarray(0, batch.at), batch.payload]);
      valid = end;
      firstChange ??= batch.at;
      restored++;
      continue;
    }
    const where = damagedWal.length > 0 ? ` (the shared journal was damaged: ${damagedWal.join(", ")}, moved to damaged/)` : "";
    lost =
      batch.at > valid
        ? `${name} ends at byte ${valid} (its valid part) but the shared journal's next records for it start at byte ${batch.at}: the records between are in neither copy${where}`
        : `${name} holds other records at byte ${batch.at} than the shared journal's synced copy${where}`;
    break;
  }
  if (firstChange !== undefined) {
    const handle = await open(path, existed ? "r+" : "w");
    try {
      await handle.truncate(firstChange);
      const tail = data.subarray(firstChange);
      let done = 0;
      while (done < tail.length) done += (await handle.write(tail, done, tail.length - done, firstChange + done)).bytesWritten;
      await handle.datasync();
    } finally {
      await handle.close();
    }
    if (!existed) await syncFolder(folder);
    warnings.push(`${file.mod}/${name}: ${restored} journal batch${restored === 1 ? "" : "es"} written back from byte ${firstChange} from the shared journal (${file.wal.join(", ")}): the machine crashed before they reached this file's disk blocks`);
  }
  return lost;
}

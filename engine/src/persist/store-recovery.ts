import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import type { StateSnapshot } from "../model/wire.js";
import { readCheckpoint, type CheckpointHeader } from "./checkpoint-file.js";
import { keepAside, setAside } from "./damaged-files.js";
import type { DurableEntry } from "./durable-entry.js";
import { cutJournal, readJournal } from "./journal-file.js";
import type { RecoveryReport } from "./recovery-report.js";
import { readSharedLoss } from "./shared-loss.js";
import { CHECKPOINT_FILE, JOURNAL_FILE, META_FILE, SHARED_LOSS_FILE, checkpointName, journalName, segmentsOf } from "./store-layout.js";
import { readMetaFile, type DurablePoint } from "./store-meta.js";
import type { ModMeta, RecoveredMod, RecoveryOutcome } from "./store-types.js";

/** What recovery asks of the store it recovers: to forget its meta, and to resume from a point. */
export interface RecoveringStore {
  readonly dir: string;
  /** The mod's name, for messages. */
  readonly name: string;
  /** Removes meta.json and forgets the meta in memory (recovery starts the mod over). */
  forgetMeta(): Promise<void>;
  /**
   * Continues from `point` (new records go to its segment, after its sequence number) with `meta`;
   * rewrites meta.json when `rewriteMeta` (damaged, outdated, or loss accepted). May throw: the
   * rewrite is best effort and recovery reports its failure as a warning.
   */
  resume(point: DurablePoint, meta: ModMeta, rewriteMeta: boolean): Promise<void>;
}

/**
 * Reads what a store's folder holds: the newest valid checkpoint (falling back to the one before
 * it if the newest is damaged) and every journal record after it. A torn tail (the end of the
 * newest segment, with nothing valid after it) is cut with a warning. Damage followed by valid
 * records, a missing segment or missing newest files make the outcome "corrupt" (the damaged file
 * is copied to `damaged/`, nothing is cut), unless `acceptLoss`: then recovery continues from the
 * last good point and the files past it are moved to `damaged/`. Records the shared journal's redo
 * found lost (SHARED_LOSS_FILE, see redoSharedJournal) make the outcome "corrupt" too.
 */
export async function recoverStore(store: RecoveringStore, acceptLoss: boolean): Promise<RecoveryOutcome> {
  const dir = store.dir;
  const mod = store.name;
  const damage: string[] = [];
  const keptAside: string[] = [];
  const warnings: string[] = [];
  let tailCut: RecoveryReport["tailCut"];
  const report = (outcome: RecoveryReport["outcome"], extra: { checkpoint?: string; replayed?: number } = {}): RecoveryReport => ({
    outcome,
    replayed: extra.replayed ?? 0,
    ...(extra.checkpoint !== undefined ? { checkpoint: extra.checkpoint } : {}),
    ...(tailCut !== undefined ? { tailCut } : {}),
    damage,
    keptAside,
    warnings,
  });
  const acceptHint = `To accept the loss and continue from the last good point, call host.acceptStateLoss("${mod}") or start the host with recovery: { acceptLoss: ["${mod}"] }; the damaged files are kept in ${join(dir, "damaged")}.`;
  const corrupt = (): RecoveryOutcome => ({
    kind: "corrupt",
    error: new ModhostError("E_STATE_CORRUPT", `the saved state of mod ${mod} in ${dir} is damaged or incomplete: ${damage.join("; ")}. ${acceptHint}`, { mod }),
    report: report("corrupt"),
  });

  const names = await readdir(dir);
  const checkpoints = segmentsOf(names, CHECKPOINT_FILE).sort((a, b) => b - a);
  const journals = new Set(segmentsOf(names, JOURNAL_FILE));
  const meta = names.includes(META_FILE) ? await readMetaFile(dir, warnings, keptAside) : undefined;
  const metaDamaged = names.includes(META_FILE) && meta === undefined;
  const top = Math.max(0, ...checkpoints, ...journals, meta?.segment ?? 0);

  if (checkpoints.length === 0) {
    if (journals.size === 0 && meta === undefined && !metaDamaged) return { kind: "fresh", report: report("fresh") };
    damage.push(`no checkpoint is left${journals.size > 0 ? ` but journal segments are (${[...journals].map(journalName).join(", ")})` : ""}${meta !== undefined ? `, although meta.json says this mod ran (live version ${meta.live.slice(0, 12)}, checkpoint ${meta.segment ?? "?"})` : ""}`);
    if (!acceptLoss) return corrupt();
    for (const n of journals) keptAside.push(await setAside(dir, journalName(n), "move"));
    await store.forgetMeta();
    return { kind: "fresh", report: report("loss-accepted") };
  }

  // The newest checkpoint that reads back whole.
  let found: { n: number; snapshot: StateSnapshot; header: CheckpointHeader } | undefined;
  for (const n of checkpoints) {
    try {
      found = { n, ...(await readCheckpoint(dir, n)) };
      break;
    } catch (err) {
      if (err instanceof ModhostError && err.code === "E_STATE_FORMAT") throw err;
      warnings.push(`${checkpointName(n)} is damaged (${(err as Error).message}); it was moved to damaged/ and the checkpoint before it is used with the journal after it`);
      await keepAside(dir, checkpointName(n), "move", keptAside, warnings);
    }
  }
  if (found === undefined) {
    damage.push(`no checkpoint can be read (${warnings.join("; ")})`);
    if (!acceptLoss) return corrupt();
    for (const n of journals) keptAside.push(await setAside(dir, journalName(n), "move"));
    await store.forgetMeta();
    return { kind: "fresh", report: report("loss-accepted") };
  }
  const base = found.n;

  // Every segment from the checkpoint's to the newest must be there and whole.
  const entries: DurableEntry[] = [];
  let maxSeq = found.header.seq ?? 0;
  let last = base;
  let lost = false;
  for (let n = base; n <= top; n++) {
    const name = journalName(n);
    if (!journals.has(n)) {
      // Checkpoints written before the chain was checked did not create their segment up front.
      if (n === base && found.header.segment === undefined && n === top) break;
      damage.push(`${name} is missing (the journal went on to segment ${top}${meta?.segment === top ? ", as meta.json records" : ""}): the events it held are lost`);
      lost = true;
      break;
    }
    const read = await readJournal(join(dir, name));
    for (const record of read.records) {
      entries.push(record.entry);
      maxSeq = Math.max(maxSeq, record.seq);
    }
    last = n;
    if (read.damage === undefined) continue;
    const tornTail = n === top && !read.damage.followedByValid;
    if (tornTail) {
      await cutJournal(join(dir, name), read.validBytes);
      tailCut = { file: name, offset: read.damage.offset, reason: read.damage.reason };
      warnings.push(`${name}: ${read.damage.reason} at byte ${read.damage.offset}, the end of the journal (a write torn by a crash); cut there`);
      continue;
    }
    damage.push(`${name}: ${read.damage.reason} at byte ${read.damage.offset}, ${read.damage.followedByValid ? "with valid records after it" : "and later segments follow"}: the records from there on cannot be trusted`);
    await keepAside(dir, name, "copy", keptAside, warnings);
    if (acceptLoss) await cutJournal(join(dir, name), read.validBytes);
    lost = true;
    break;
  }
  if (names.includes(SHARED_LOSS_FILE)) {
    damage.push(...(await readSharedLoss(dir)));
    lost = true;
    // Accepted: the loss is the last good point's business now; the note would fault the mod again.
    if (acceptLoss) await rm(join(dir, SHARED_LOSS_FILE), { force: true });
  }
  if (!lost && meta?.seq !== undefined && maxSeq < meta.seq) {
    damage.push(`the journal ends at sequence number ${maxSeq} but meta.json records that events up to ${meta.seq} were saved: records are missing`);
    lost = true;
  }
  if (lost && !acceptLoss) return corrupt();
  if (lost) {
    // Continue from the last good point: files past it would put a hole in the history.
    for (let n = last + 1; n <= top; n++) {
      if (journals.has(n)) keptAside.push(await setAside(dir, journalName(n), "move"));
      if (checkpoints.includes(n)) keptAside.push(await setAside(dir, checkpointName(n), "move"));
    }
  }

  let liveHash = found.header.version;
  for (const entry of entries) if (entry.kind !== "event") liveHash = entry.version;
  const kept: ModMeta | undefined = meta === undefined ? undefined : { live: meta.live, history: meta.history, quarantined: meta.quarantined };
  const rewriteMeta = metaDamaged || lost || meta?.segment !== last;
  // Best effort: a read-only or full disk must not turn an intact state into a fault.
  await store
    .resume({ segment: last, seq: maxSeq }, kept ?? { live: liveHash, history: [], quarantined: false }, rewriteMeta)
    .catch((err: unknown) => warnings.push(`meta.json could not be rewritten (${(err as Error).message}); it is written again with the next checkpoint`));
  const recovered: RecoveredMod = { checkpoint: { snapshot: found.snapshot, version: found.header.version }, entries, meta: kept, maxSeq, warnings: [...warnings, ...damage] };
  return { kind: "state", recovered, report: report(lost ? "loss-accepted" : "recovered", { checkpoint: checkpointName(base), replayed: entries.length }) };
}

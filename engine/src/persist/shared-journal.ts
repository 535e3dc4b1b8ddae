import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ModhostError } from "../errors/modhost-error.js";
import { syncFolder } from "./atomic-write.js";
import { JournalFile } from "./journal-file.js";
import { batchHeader, type SharedBatchPlace } from "./shared-journal-record.js";
import { SHARED_JOURNAL_FILE, segmentsOf, sharedJournalName } from "./store-layout.js";

/** A mod's store as the shared journal sees it: it can make its own journal files durable. */
export interface SharedJournalOwner {
  /** fdatasyncs every record the store appended to its own segments so far. */
  flushJournal(): Promise<void>;
}

/**
 * A shared segment grows to about this size before the next one starts and it is retired. Each
 * retirement costs one fdatasync per mod that wrote (100 mods: 100), so a larger segment costs
 * less per event (8 MiB: about 0.8 us per mod-event at 100 mods, measured); what it costs is disk
 * (at most two segments) and the redo's read after a crash.
 */
export const SHARED_SEGMENT_BYTES = 32 * 1024 * 1024;

/**
 * The host-wide write-ahead journal for the "batch" durability: one file (segments
 * `wal/wal-N.log`) that every mod's journal batch is also appended to, synced once per group
 * commit for all mods together, where each mod's own segment would need an fdatasync of its own.
 *
 * A mod's batch goes to its own segment first (written, not synced), then here; its emit is
 * acknowledged once the shared copy is synced. The per-mod segments stay the primary layout that
 * recovery reads; the shared copy is what makes their unsynced tails durable: on open, before any
 * mod recovers, `redoSharedJournal` writes back what a crash of the machine took from them.
 *
 * Group commit: the first batch starts a write+sync at the end of its event-loop turn (so a tick's
 * batches go together); batches asked for while one runs are buffered and written as one, with one
 * sync. A failed write or sync truncates the file back to the end of the last synced group and
 * fails that group's callers only (later batches are still in memory), so no failed record stays.
 *
 * Compaction: when a segment passes SHARED_SEGMENT_BYTES the next one starts, every owner syncs
 * its own files (each once, however many records it wrote), and the old segment is deleted: its
 * records are then durable where recovery reads them. A failed owner sync keeps every segment until
 * the next open (after such a failure the kernel may have dropped the pages, so the shared copy is
 * the only good one). close() does the same for the last segment.
 */
export class SharedJournal {
  readonly dir: string;
  readonly #onSync: (ms: number) => void;
  readonly #onError: (err: Error) => void;
  readonly #owners = new Set<SharedJournalOwner>();
  readonly #segmentBytes: number;
  #segment: number;
  #file: JournalFile;
  /** Segments written to before the current one and not deleted yet. */
  readonly #old: number[] = [];
  #pending: Buffer[] = [];
  #waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #running: Promise<void> | undefined;
  #retiring: Promise<void> | undefined;
  /** An owner's sync failed: keep every segment for the next open's redo. */
  #pinned = false;
  #closed = false;

  private constructor(dir: string, segment: number, file: JournalFile, segmentBytes: number, onSync: (ms: number) => void, onError: (err: Error) => void) {
    this.dir = dir;
    this.#segment = segment;
    this.#file = file;
    this.#segmentBytes = segmentBytes;
    this.#onSync = onSync;
    this.#onError = onError;
  }

  /**
   * Starts a shared journal in `dir` after the segments already there (redo has read and removed
   * them; any left are kept and deleted with the first retirement).
   */
  static async open(dir: string, options: { onSync: (ms: number) => void; onError: (err: Error) => void; segmentBytes?: number }): Promise<SharedJournal> {
    await mkdir(dir, { recursive: true });
    const existing = segmentsOf(await readdir(dir), SHARED_JOURNAL_FILE).sort((a, b) => a - b);
    const segment = (existing.at(-1) ?? 0) + 1;
    const file = await JournalFile.open(join(dir, sharedJournalName(segment)));
    await syncFolder(dir);
    const journal = new SharedJournal(dir, segment, file, options.segmentBytes ?? SHARED_SEGMENT_BYTES, options.onSync, options.onError);
    journal.#old.push(...existing);
    return journal;
  }

  /** The segment batches go to now (for tests and status). */
  get segment(): number {
    return this.#segment;
  }

  /** Reports a failure that loses nothing (the shared copy still holds the records). */
  warn(err: Error): void {
    this.#onError(err);
  }

  /** Adds a store whose own files must be synced before a segment is deleted. */
  register(owner: SharedJournalOwner): void {
    this.#owners.add(owner);
  }

  /**
   * Appends one mod's batch (the bytes it appended to its own segment at `place`); resolves once
   * the batch is durable here.
   */
  commit(place: SharedBatchPlace, payload: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new ModhostError("E_HOST_CLOSED", `the shared journal in ${this.dir} is closed`));
    // Header and payload as two pieces of the group's one write (writev: nothing is copied).
    this.#pending.push(batchHeader(place, payload), payload);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#running ??= this.#start();
    });
  }

  /**
   * The write loop, begun at the end of the current event-loop turn rather than at once: the
   * batches of one tick (every mod's, arriving one after another in the same turn) then share one
   * write and one sync, where starting at the first batch made a group of one followed by the rest.
   */
  #start(): Promise<void> {
    return new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#run())
      .catch((err: unknown) => this.#failWaiting(err))
      .finally(() => (this.#running = undefined));
  }

  /**
   * Finishes the commits under way; then, when `flushed` (every owner synced its own files since
   * its last batch), deletes every segment. Otherwise they stay for the next open's redo.
   */
  async close(flushed: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#running !== undefined) await this.#running;
    await this.#retiring;
    await this.#file.close();
    if (!flushed || this.#pinned) return;
    for (const n of [...this.#old, this.#segment]) await rm(join(this.dir, sharedJournalName(n)), { force: true });
    await syncFolder(this.dir);
  }

  async #run(): Promise<void> {
    while (this.#waiting.length > 0) {
      const group = this.#waiting;
      const pieces = this.#pending;
      this.#waiting = [];
      this.#pending = [];
      const file = this.#file;
      const before = file.size;
      try {
        await file.appendChunks(pieces);
        const start = performance.now();
        await file.sync();
        this.#onSync(performance.now() - start);
      } catch (err) {
        // After a failed sync the kernel may have dropped the pages: this group's bytes are not kept.
        try {
          await file.discardSince(before);
        } finally {
          // Rejected even if the discard fails (the loop then stops: see #failWaiting).
          for (const w of group) w.reject(err);
        }
        continue;
      }
      for (const w of group) w.resolve();
      if (file.size >= this.#segmentBytes && this.#retiring === undefined) await this.#rotate();
    }
  }

  /**
   * The write loop itself failed (not a write or sync, which fail their group only: say closing
   * the old segment, or discarding a failed group's bytes): the batches waiting are not durable.
   */
  #failWaiting(err: unknown): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#pending = [];
    for (const w of waiting) w.reject(err);
    this.#onError(new Error(`the shared journal's write loop failed: ${(err as Error).message}`));
  }

  /** Starts the next segment and retires the old one in the background. */
  async #rotate(): Promise<void> {
    const next = this.#segment + 1;
    let file: JournalFile;
    try {
      file = await JournalFile.open(join(this.dir, sharedJournalName(next)));
      await syncFolder(this.dir);
    } catch (err) {
      this.#onError(new Error(`starting shared journal segment ${sharedJournalName(next)} failed (${(err as Error).message}); writing on in ${sharedJournalName(this.#segment)}`));
      return;
    }
    const old = this.#file;
    this.#old.push(this.#segment);
    this.#segment = next;
    this.#file = file;
    await old.close();
    // Not awaited: owners flush on their own journal lines, behind batches that wait for this loop.
    this.#retiring = this.#retire().finally(() => (this.#retiring = undefined));
  }

  /** Every owner syncs its files; then the old segments hold nothing that is not durable elsewhere. */
  async #retire(): Promise<void> {
    const retired = [...this.#old];
    const results = await Promise.allSettled([...this.#owners].map((owner) => owner.flushJournal()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) {
      this.#pinned = true;
      this.#onError(new Error(`syncing a mod's journal failed (${(failed.reason as Error).message}); the shared journal keeps every segment until the next start`));
    }
    if (this.#pinned) return;
    try {
      for (const n of retired) await rm(join(this.dir, sharedJournalName(n)), { force: true });
      await syncFolder(this.dir);
      this.#old.splice(0, retired.length);
    } catch (err) {
      this.#onError(new Error(`deleting retired shared journal segments failed: ${(err as Error).message}`));
    }
  }
}

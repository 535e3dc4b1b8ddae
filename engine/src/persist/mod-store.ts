import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ModhostError } from "../errors/modhost-error.js";
import type { StateSnapshot } from "../model/wire.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import { syncFolder } from "./atomic-write.js";
import { writeCheckpoint } from "./checkpoint-file.js";
import type { DurableEntry, Durability } from "./durable-entry.js";
import type { GroupCommit } from "./group-commit.js";
import { JournalFile, encodeRecords } from "./journal-file.js";
import type { SharedJournal, SharedJournalOwner } from "./shared-journal.js";
import { CHECKPOINT_FILE, JOURNAL_FILE, journalName, segmentOf, segmentsOf } from "./store-layout.js";
import { removeMetaFile, writeMetaFile, type DurablePoint } from "./store-meta.js";
import { recoverStore } from "./store-recovery.js";
import type { ModMeta, RecoveryOutcome, StoreObserver } from "./store-types.js";
import { scanReferences } from "./version-references.js";

// The store's data types have a file of their own; re-exported so that callers keep importing
// the store's surface from here.
export type { ModMeta, RecoveredMod, RecoveryOutcome, StoreObserver } from "./store-types.js";

/** A store's batches kept in memory for its own segment are written once they reach this size. */
const PENDING_BYTES = 64 * 1024;

/**
 * One mod's folder in the stateDir: checkpoints (`checkpoint-N.dat`, the last two kept) and journal
 * segments (`journal-N.log`: what happened after checkpoint N). A checkpoint is a JSON header line
 * (format, version hash, random generator position, checksum of the state, its segment and last
 * sequence number) followed by the state's JSON text. Operations run in the order they are called.
 *
 * The chain is checkable: journal-N is created (and its folder synced) before checkpoint-N and
 * before any record of segment N, so from the checkpoint recovery starts at, every segment up to
 * the newest must exist; meta.json records the newest durable checkpoint's segment and sequence
 * number, so losing the newest files is noticed too.
 *
 * Once a journal write fails, every later append fails fast (E_PERSIST_FAILED) until reopen()
 * writes a new checkpoint: records never land after a gap.
 *
 * With "batch" and a shared journal, a batch is made durable by the shared journal's group commit
 * (one write and one sync for all mods) and kept in memory for the mod's own segment, written there
 * in large pieces (PENDING_BYTES) and synced when the shared journal retires a segment, when the
 * segment is closed, and on close(). After a crash the shared journal's redo writes back what the
 * segment lacks. ("none" keeps one write per append to the mod's own segment: routed through the
 * shared journal without its sync it measured no cheaper, 100 mods.)
 */
export class ModStore implements SharedJournalOwner {
  readonly dir: string;
  /** The mod's name (the folder's), named in every shared journal batch. */
  readonly #name: string;
  readonly #durability: Durability;
  readonly #group: GroupCommit;
  readonly #shared: SharedJournal | undefined;
  /** Batches of the open segment not written to it yet, and their bytes (shared journal only). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Records were written to the open segment since it was last synced (shared journal only). */
  #unsynced = false;
  readonly #observer: StoreObserver;
  /** The segment new records go to; a checkpoint numbered the same precedes it. */
  #segment = 0;
  #journal: { segment: number; file: JournalFile } | undefined;
  /**
   * Two lines of writes, each in call order: "journal" (appends) and "slow" (checkpoint and meta
   * writes), which runs beside the appends so that a checkpoint never holds up events.
   */
  readonly #lines = new KeyedMutex<"journal" | "slow">();
  #seq = 0;
  /** The highest sequence number whose record was written successfully. */
  #written = 0;
  /** Why journal writes stopped, until reopen() succeeds. */
  #failure: Error | undefined;
  /** The last meta written, and the newest durable checkpoint's segment and seq written with it. */
  #meta: ModMeta | undefined;
  #durable: DurablePoint = { segment: 0, seq: 0 };
  #closed = false;
  /** Called when a checkpoint became durable and older files were removed (versions may be unreferenced now). */
  onPruned: (() => void) | undefined;

  private constructor(dir: string, durability: Durability, group: GroupCommit, observer: StoreObserver, shared: SharedJournal | undefined) {
    this.dir = dir;
    this.#name = dir.split(/[\\/]/).at(-1) ?? dir;
    this.#durability = durability;
    this.#group = group;
    this.#observer = observer;
    this.#shared = durability === "batch" ? shared : undefined;
    this.#shared?.register(this);
  }

  /**
   * The store of mod `name` under `modsStateDir`; its folder is created by the first write. With
   * `shared` and "batch", its batches are made durable by the shared journal.
   */
  static openSync(modsStateDir: string, name: string, durability: Durability, group: GroupCommit, observer: StoreObserver, shared?: SharedJournal): ModStore {
    return new ModStore(join(modsStateDir, name), durability, group, observer, shared);
  }

  /** Why journal writes are failing, if they are. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Reads what the folder holds and resumes after it (see `recoverStore`): the newest valid
   * checkpoint and every journal record after it, damage cut, reported or set aside.
   */
  async recover(options: { acceptLoss: boolean }): Promise<RecoveryOutcome> {
    await this.#ensureDir();
    return recoverStore(
      {
        dir: this.dir,
        name: this.#name,
        forgetMeta: async () => {
          await removeMetaFile(this.dir);
          this.#meta = undefined;
        },
        resume: async (point, meta, rewriteMeta) => {
          this.#segment = point.segment;
          this.#seq = point.seq;
          this.#written = point.seq;
          this.#durable = point;
          this.#meta = meta;
          if (rewriteMeta) await this.#writeMetaNow();
        },
      },
      options.acceptLoss,
    );
  }

  /** Appends journal records; resolves once they are as durable as the durability setting says. */
  append(entries: readonly DurableEntry[], seqOf: (entry: DurableEntry) => number): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failedError());
    const records = entries.map((entry) => {
      const seq = seqOf(entry);
      if (seq > this.#seq) this.#seq = seq;
      return { seq: seq || this.#seq, entry };
    });
    const segment = this.#segment;
    return this.#enqueue(async () => {
      if (this.#failure !== undefined) throw this.#failedError();
      const journal = await this.#openJournal(segment);
      const before = journal.size;
      const bytes = encodeRecords(records);
      if (this.#shared !== undefined) return this.#commitShared(this.#shared, segment, records, bytes);
      await journal.appendBytes(bytes);
      this.#observer.journalWrite(records.length, bytes.length);
      try {
        if (this.#durability === "fsync") {
          const start = performance.now();
          await journal.sync();
          this.#observer.journalSync(performance.now() - start);
        } else if (this.#durability === "batch") {
          await this.#group.sync(journal);
        }
      } catch (err) {
        await journal.discardSince(before);
        throw err;
      }
      for (const record of records) if (record.seq > this.#written) this.#written = record.seq;
    });
  }

  /**
   * Starts a new journal segment and writes a checkpoint in front of it. Records appended after
   * this call go to the new segment at once; the checkpoint is written beside them, so events
   * are not held up. Until it is durable, recovery uses the previous checkpoint and both segments.
   * Once it is, older files are removed, keeping the previous checkpoint and its segment.
   */
  checkpoint(snapshot: StateSnapshot, version: string): Promise<void> {
    const n = ++this.#segment;
    const seq = this.#written;
    // The segment file exists before any record of it and before its checkpoint (see the class comment).
    const segmentReady = this.#enqueue(async () => {
      await this.#openJournal(n);
      await syncFolder(this.dir);
    });
    return this.#enqueueSlow(async () => {
      await segmentReady;
      await writeCheckpoint(this.dir, n, snapshot, version, seq);
      this.#durable = { segment: n, seq };
      if (this.#meta !== undefined) await this.#writeMetaNow();
      const names = await readdir(this.dir);
      // Keep the newest checkpoint before this one and every segment from it on (the fallback).
      const previous = Math.max(-1, ...segmentsOf(names, CHECKPOINT_FILE).filter((segment) => segment < n));
      const keepFrom = previous >= 0 ? previous : n;
      let removed = false;
      for (const name of names) {
        const segment = segmentOf(name, CHECKPOINT_FILE) ?? segmentOf(name, JOURNAL_FILE);
        if (segment !== undefined && segment < keepFrom) {
          await rm(join(this.dir, name), { force: true });
          removed = true;
        }
      }
      if (removed) this.onPruned?.();
    });
  }

  /**
   * After journal writes failed: forgets the failure and makes `snapshot` (the state as of the
   * last event that was answered ok) a new checkpoint, so the journal starts clean after it.
   * Throws (and stays failed) when storage still fails.
   */
  async reopen(snapshot: StateSnapshot, version: string): Promise<void> {
    this.#failure = undefined;
    try {
      await this.checkpoint(snapshot, version);
    } catch (err) {
      this.#failure = err as Error;
      throw err;
    }
  }

  /** Records the live version, the history and the status (with the journal's high-water mark). */
  writeMeta(meta: ModMeta): Promise<void> {
    this.#meta = meta;
    return this.#enqueueSlow(() => this.#writeMetaNow());
  }

  /** The version hashes this store's files may name (a cheap scan; see VersionStore.prune). */
  async referencedVersions(): Promise<Set<string>> {
    return scanReferences(this.dir);
  }

  /** Makes what was appended to the open segment durable in it (see SharedJournalOwner). */
  flushJournal(): Promise<void> {
    // Not #enqueue: a failed sync here must not stop the journal (the shared copy still holds the records).
    return this.#lines.run("journal", () => this.#syncOpen());
  }

  /** A batch made durable by the shared journal, kept for the open segment (see the class comment). */
  async #commitShared(shared: SharedJournal, segment: number, records: readonly { seq: number }[], bytes: Buffer): Promise<void> {
    const at = (this.#journal?.file.size ?? 0) + this.#pendingBytes;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    try {
      await shared.commit({ mod: this.#name, seg: segment, at }, bytes);
    } catch (err) {
      // Not durable, so not kept: it is the last batch (appends of a store run one at a time).
      this.#pending.pop();
      this.#pendingBytes -= bytes.length;
      throw err;
    }
    this.#observer.journalWrite(records.length, bytes.length);
    for (const record of records) if (record.seq > this.#written) this.#written = record.seq;
    if (this.#pendingBytes >= PENDING_BYTES) {
      // Behind this append on the line, not awaited by it: the batch is durable already, and a
      // failed write keeps the batches in memory for the next try (the shared copy has them).
      void this.#lines.run("journal", () => this.#writePending()).catch((err: unknown) => shared.warn(new Error(`writing the journal of ${this.#name} failed (${(err as Error).message}); the shared journal keeps its records`)));
    }
  }

  async #writePending(): Promise<void> {
    if (this.#pendingBytes === 0 || this.#journal === undefined) return;
    await this.#journal.file.appendChunks(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#unsynced = true;
  }

  /** Finishes pending writes, syncs and closes the journal. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#lines.idle("journal"), this.#lines.idle("slow")]);
    try {
      await this.#syncOpen();
    } finally {
      await this.#journal?.file.close();
      this.#journal = undefined;
    }
  }

  async #syncOpen(): Promise<void> {
    await this.#writePending();
    if (!this.#unsynced || this.#journal === undefined) return;
    this.#unsynced = false;
    try {
      await this.#journal.file.sync();
    } catch (err) {
      this.#unsynced = true;
      throw err;
    }
  }

  #failedError(): ModhostError {
    return new ModhostError("E_PERSIST_FAILED", `the journal of ${this.#name} cannot be written (${this.#failure?.message ?? "unknown"}); events are refused until a write succeeds again`, { mod: this.#name });
  }

  async #writeMetaNow(): Promise<void> {
    const meta = this.#meta;
    if (meta === undefined) return;
    await writeMetaFile(this.dir, meta, this.#durable);
  }

  #dirReady: Promise<void> | undefined;
  #ensureDir(): Promise<void> {
    this.#dirReady ??= mkdir(this.dir, { recursive: true }).then(() => undefined);
    return this.#dirReady;
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ModhostError("E_HOST_CLOSED", `the store of ${this.dir} is closed`));
    return this.#lines.run("journal", () =>
      this.#ensureDir()
        .then(op)
        .catch((err: unknown) => {
          // Any failed journal write stops the journal until reopen(): no record may follow a gap.
          this.#failure ??= err as Error;
          throw err;
        }),
    );
  }

  #enqueueSlow<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ModhostError("E_HOST_CLOSED", `the store of ${this.dir} is closed`));
    return this.#lines.run("slow", () => this.#ensureDir().then(op));
  }

  async #openJournal(segment: number): Promise<JournalFile> {
    if (this.#journal?.segment !== segment) {
      await this.#syncOpen(); // its records must be durable in it before the shared journal may drop them
      await this.#journal?.file.close();
      this.#journal = undefined;
      this.#journal = { segment, file: await JournalFile.open(join(this.dir, journalName(segment))) };
    }
    return this.#journal.file;
  }
}

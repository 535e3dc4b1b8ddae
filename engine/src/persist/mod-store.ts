import { crc32 } from "node:zlib";
import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ModhostError } from "../errors/modhost-error.js";
import type { StateSnapshot } from "../sandbox/wire.js";
import { atomicWrite } from "./atomic-write.js";
import type { DurableEntry, Durability } from "./durable-entry.js";
import type { GroupCommit } from "./group-commit.js";
import { JournalFile, readJournal } from "./journal-file.js";

/** What a mod's store remembers besides state: the live version, its history, its status. */
export interface ModMeta {
  readonly live: string;
  /** Earlier versions' hashes, oldest first. */
  readonly history: readonly string[];
  readonly quarantined: boolean;
}

/** A mod's durable state as found on disk. */
export interface RecoveredMod {
  readonly checkpoint: { readonly snapshot: StateSnapshot; readonly version: string };
  readonly entries: readonly DurableEntry[];
  readonly meta: ModMeta | undefined;
  readonly maxSeq: number;
  /** Damage found and repaired (a torn journal tail, a corrupt checkpoint). */
  readonly warnings: readonly string[];
}

/** Hooks for metrics. */
export interface StoreObserver {
  journalWrite(records: number, bytes: number): void;
  journalSync(ms: number): void;
}

const CHECKPOINT = /^checkpoint-(\d{8})\.dat$/;
const JOURNAL = /^journal-(\d{8})\.log$/;
const pad = (n: number): string => String(n).padStart(8, "0");

/**
 * One mod's folder in the stateDir: checkpoints (`checkpoint-N.dat`, the last two kept) and journal
 * segments (`journal-N.log`: what happened after checkpoint N). A checkpoint is a JSON header line
 * (format, version hash, random generator position, checksum of the state) followed by the state's
 * JSON text. Operations run in the order they are called.
 */
export class ModStore {
  readonly dir: string;
  readonly #durability: Durability;
  readonly #group: GroupCommit;
  readonly #observer: StoreObserver;
  /** The segment new records go to; a checkpoint numbered the same precedes it. */
  #segment = 0;
  #journal: { segment: number; file: JournalFile } | undefined;
  /** Journal appends, in call order. */
  #chain: Promise<unknown> = Promise.resolve();
  /** Checkpoint and meta writes, in call order, beside the appends (a checkpoint never holds up events). */
  #slowChain: Promise<unknown> = Promise.resolve();
  #seq = 0;
  #closed = false;

  private constructor(dir: string, durability: Durability, group: GroupCommit, observer: StoreObserver) {
    this.dir = dir;
    this.#durability = durability;
    this.#group = group;
    this.#observer = observer;
  }

  /** The store of mod `name` under `modsStateDir`; its folder is created by the first write. */
  static openSync(modsStateDir: string, name: string, durability: Durability, group: GroupCommit, observer: StoreObserver): ModStore {
    return new ModStore(join(modsStateDir, name), durability, group, observer);
  }

  /**
   * Reads what the folder holds: the newest valid checkpoint (falling back to the one before it if
   * the newest is damaged) and every journal record after it (a torn tail is cut). Undefined when
   * the folder holds no state at all. Throws E_STATE_CORRUPT when state exists but none of it can
   * be trusted: a mod is never silently started from scratch.
   */
  async recover(): Promise<RecoveredMod | undefined> {
    await this.#ensureDir();
    const names = await readdir(this.dir);
    const checkpoints = names.flatMap((n) => (CHECKPOINT.exec(n) ? [Number(CHECKPOINT.exec(n)?.[1])] : [])).sort((a, b) => b - a);
    const journals = names.flatMap((n) => (JOURNAL.exec(n) ? [Number(JOURNAL.exec(n)?.[1])] : [])).sort((a, b) => a - b);
    const meta = names.includes("meta.json") ? await this.#readMeta() : undefined;
    if (checkpoints.length === 0) {
      if (journals.length > 0) throw new ModhostError("E_STATE_CORRUPT", `${this.dir} holds a journal but no checkpoint; refusing to start the mod from scratch`);
      return undefined;
    }
    const warnings: string[] = [];
    let found: { n: number; snapshot: StateSnapshot; version: string } | undefined;
    for (const n of checkpoints) {
      try {
        found = { n, ...(await this.#readCheckpoint(n)) };
        break;
      } catch (err) {
        warnings.push(`checkpoint-${pad(n)}.dat is damaged (${(err as Error).message}); falling back to an older one`);
      }
    }
    if (found === undefined) throw new ModhostError("E_STATE_CORRUPT", `no checkpoint in ${this.dir} can be read: ${warnings.join("; ")}`);
    const entries: DurableEntry[] = [];
    let maxSeq = 0;
    const segments = journals.filter((n) => n >= (found as { n: number }).n);
    for (const [index, n] of segments.entries()) {
      const path = join(this.dir, `journal-${pad(n)}.log`);
      const read = await readJournal(path, true);
      for (const record of read.records) {
        entries.push(record.entry);
        maxSeq = Math.max(maxSeq, record.seq);
      }
      if (read.damage !== undefined) {
        warnings.push(`journal-${pad(n)}.log: ${read.damage.reason} at byte ${read.damage.offset}; cut there`);
        if (index < segments.length - 1) warnings.push(`records after the damage in later segments were kept, but events between them may be missing`);
      }
    }
    this.#segment = segments.at(-1) ?? found.n;
    this.#seq = maxSeq;
    return { checkpoint: { snapshot: found.snapshot, version: found.version }, entries, meta, maxSeq, warnings };
  }

  /** Appends journal records; resolves once they are as durable as the durability setting says. */
  append(entries: readonly DurableEntry[], seqOf: (entry: DurableEntry) => number): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const records = entries.map((entry) => {
      const seq = seqOf(entry);
      if (seq > this.#seq) this.#seq = seq;
      return { seq: seq || this.#seq, entry };
    });
    const segment = this.#segment;
    return this.#enqueue(async () => {
      const journal = await this.#openJournal(segment);
      const bytes = await journal.append(records);
      this.#observer.journalWrite(records.length, bytes);
      if (this.#durability === "fsync") {
        const start = performance.now();
        await journal.sync();
        this.#observer.journalSync(performance.now() - start);
      } else if (this.#durability === "batch") {
        await this.#group.sync(journal);
      }
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
    return this.#enqueueSlow(async () => {
      const header = JSON.stringify({ format: 1, version, rng: snapshot.rng, checksum: crc32(snapshot.state) });
      await atomicWrite(join(this.dir, `checkpoint-${pad(n)}.dat`), `${header}\n${snapshot.state}`);
      for (const name of await readdir(this.dir)) {
        const match = CHECKPOINT.exec(name) ?? JOURNAL.exec(name);
        if (match && Number(match[1]) < n - 1) await rm(join(this.dir, name), { force: true });
      }
    });
  }

  /** Records the live version, the history and the status. */
  writeMeta(meta: ModMeta): Promise<void> {
    return this.#enqueueSlow(() => atomicWrite(join(this.dir, "meta.json"), JSON.stringify({ format: 1, ...meta })));
  }

  /** Finishes pending writes and closes the journal. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#chain.catch(() => undefined), this.#slowChain.catch(() => undefined)]);
    await this.#journal?.file.close();
    this.#journal = undefined;
  }

  #dirReady: Promise<void> | undefined;
  #ensureDir(): Promise<void> {
    this.#dirReady ??= mkdir(this.dir, { recursive: true }).then(() => undefined);
    return this.#dirReady;
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ModhostError("E_HOST_CLOSED", `the store of ${this.dir} is closed`));
    const run = this.#chain.then(() => this.#ensureDir()).then(op);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #enqueueSlow<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ModhostError("E_HOST_CLOSED", `the store of ${this.dir} is closed`));
    const run = this.#slowChain.then(() => this.#ensureDir()).then(op);
    this.#slowChain = run.catch(() => undefined);
    return run;
  }

  async #openJournal(segment: number): Promise<JournalFile> {
    if (this.#journal?.segment !== segment) {
      await this.#journal?.file.close();
      this.#journal = { segment, file: await JournalFile.open(join(this.dir, `journal-${pad(segment)}.log`)) };
    }
    return this.#journal.file;
  }

  async #readCheckpoint(n: number): Promise<{ snapshot: StateSnapshot; version: string }> {
    const text = await readFile(join(this.dir, `checkpoint-${pad(n)}.dat`), "utf8");
    const newline = text.indexOf("\n");
    if (newline < 0) throw new Error("no header");
    const header = JSON.parse(text.slice(0, newline)) as { format?: unknown; version?: unknown; rng?: unknown; checksum?: unknown };
    if (header.format !== 1) throw new ModhostError("E_STATE_FORMAT", `checkpoint format ${String(header.format)} is not one this modhost reads (1)`);
    const state = text.slice(newline + 1);
    if (crc32(state) !== header.checksum) throw new Error("the state fails its checksum");
    if (typeof header.version !== "string" || !Array.isArray(header.rng)) throw new Error("the header is incomplete");
    JSON.parse(state); // a checksum collision on garbage would still fail here
    return { snapshot: { state, rng: header.rng as number[] }, version: header.version };
  }

  async #readMeta(): Promise<ModMeta | undefined> {
    const raw = JSON.parse(await readFile(join(this.dir, "meta.json"), "utf8")) as Partial<ModMeta> & { format?: unknown };
    if (raw.format !== 1) throw new ModhostError("E_STATE_FORMAT", `${this.dir}/meta.json has format ${String(raw.format)}; this modhost reads format 1`);
    if (typeof raw.live !== "string" || !Array.isArray(raw.history)) return undefined;
    return { live: raw.live, history: raw.history, quarantined: raw.quarantined === true };
  }
}

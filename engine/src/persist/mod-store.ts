import { crc32 } from "node:zlib";
import { copyFile, mkdir, open, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ModhostError } from "../errors/modhost-error.js";
import type { StateSnapshot } from "../model/wire.js";
import { atomicWrite, syncFolder } from "./atomic-write.js";
import type { DurableEntry, Durability } from "./durable-entry.js";
import type { GroupCommit } from "./group-commit.js";
import { JournalFile, cutJournal, readJournal } from "./journal-file.js";
import type { RecoveryReport } from "./recovery-report.js";
import { KeyedMutex } from "../util/keyed-mutex.js";

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

/** What recover() found: no state, state to resume, or state that cannot be trusted. */
export type RecoveryOutcome =
  | { readonly kind: "fresh"; readonly report: RecoveryReport }
  | { readonly kind: "state"; readonly recovered: RecoveredMod; readonly report: RecoveryReport }
  | { readonly kind: "corrupt"; readonly error: ModhostError; readonly report: RecoveryReport };

/** Hooks for metrics. */
export interface StoreObserver {
  journalWrite(records: number, bytes: number): void;
  journalSync(ms: number): void;
}

const CHECKPOINT = /^checkpoint-(\d{8})\.dat$/;
const JOURNAL = /^journal-(\d{8})\.log$/;
const pad = (n: number): string => String(n).padStart(8, "0");
const checkpointName = (n: number): string => `checkpoint-${pad(n)}.dat`;
const journalName = (n: number): string => `journal-${pad(n)}.log`;

/** A checkpoint's header line. `segment` and `seq` are written since the journal chain is checked. */
interface CheckpointHeader {
  readonly format: 1;
  readonly version: string;
  readonly rng: readonly number[];
  readonly checksum: number;
  readonly segment?: number;
  readonly seq?: number;
}

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
 */
export class ModStore {
  readonly dir: string;
  readonly #durability: Durability;
  readonly #group: GroupCommit;
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
  #durable = { segment: 0, seq: 0 };
  #closed = false;
  /** Called when a checkpoint became durable and older files were removed (versions may be unreferenced now). */
  onPruned: (() => void) | undefined;

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

  /** Why journal writes are failing, if they are. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Reads what the folder holds: the newest valid checkpoint (falling back to the one before it if
   * the newest is damaged) and every journal record after it. A torn tail (the end of the newest
   * segment, with nothing valid after it) is cut with a warning. Damage followed by valid records,
   * a missing segment or missing newest files make the outcome "corrupt" (the damaged file is
   * copied to `damaged/`, nothing is cut), unless `acceptLoss`: then recovery continues from the
   * last good point and the files past it are moved to `damaged/`.
   */
  async recover(options: { acceptLoss: boolean }): Promise<RecoveryOutcome> {
    await this.#ensureDir();
    const acceptLoss = options.acceptLoss;
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
    const acceptHint = `To accept the loss and continue from the last good point, call host.acceptStateLoss("${this.#name}") or start the host with recovery: { acceptLoss: ["${this.#name}"] }; the damaged files are kept in ${join(this.dir, "damaged")}.`;
    const corrupt = (): RecoveryOutcome => ({
      kind: "corrupt",
      error: new ModhostError("E_STATE_CORRUPT", `the saved state of mod ${this.#name} in ${this.dir} is damaged or incomplete: ${damage.join("; ")}. ${acceptHint}`, { mod: this.#name }),
      report: report("corrupt"),
    });

    const names = await readdir(this.dir);
    const checkpoints = names.flatMap((n) => (CHECKPOINT.exec(n) ? [Number(CHECKPOINT.exec(n)?.[1])] : [])).sort((a, b) => b - a);
    const journals = new Set(names.flatMap((n) => (JOURNAL.exec(n) ? [Number(JOURNAL.exec(n)?.[1])] : [])));
    const meta = names.includes("meta.json") ? await this.#readMeta(warnings, keptAside) : undefined;
    const metaDamaged = names.includes("meta.json") && meta === undefined;
    const top = Math.max(0, ...checkpoints, ...journals, meta?.segment ?? 0);

    if (checkpoints.length === 0) {
      if (journals.size === 0 && meta === undefined && !metaDamaged) return { kind: "fresh", report: report("fresh") };
      damage.push(`no checkpoint is left${journals.size > 0 ? ` but journal segments are (${[...journals].map(journalName).join(", ")})` : ""}${meta !== undefined ? `, although meta.json says this mod ran (live version ${meta.live.slice(0, 12)}, checkpoint ${meta.segment ?? "?"})` : ""}`);
      if (!acceptLoss) return corrupt();
      for (const n of journals) keptAside.push(await this.#setAside(journalName(n), "move"));
      await this.#forgetMeta();
      return { kind: "fresh", report: report("loss-accepted") };
    }

    // The newest checkpoint that reads back whole.
    let found: { n: number; snapshot: StateSnapshot; header: CheckpointHeader } | undefined;
    for (const n of checkpoints) {
      try {
        found = { n, ...(await this.#readCheckpoint(n)) };
        break;
      } catch (err) {
        if (err instanceof ModhostError && err.code === "E_STATE_FORMAT") throw err;
        warnings.push(`${checkpointName(n)} is damaged (${(err as Error).message}); it was moved to damaged/ and the checkpoint before it is used with the journal after it`);
        await this.#keepAside(checkpointName(n), "move", keptAside, warnings);
      }
    }
    if (found === undefined) {
      damage.push(`no checkpoint can be read (${warnings.join("; ")})`);
      if (!acceptLoss) return corrupt();
      for (const n of journals) keptAside.push(await this.#setAside(journalName(n), "move"));
      await this.#forgetMeta();
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
      const read = await readJournal(join(this.dir, name));
      for (const record of read.records) {
        entries.push(record.entry);
        maxSeq = Math.max(maxSeq, record.seq);
      }
      last = n;
      if (read.damage === undefined) continue;
      const tornTail = n === top && !read.damage.followedByValid;
      if (tornTail) {
        await cutJournal(join(this.dir, name), read.validBytes);
        tailCut = { file: name, offset: read.damage.offset, reason: read.damage.reason };
        warnings.push(`${name}: ${read.damage.reason} at byte ${read.damage.offset}, the end of the journal (a write torn by a crash); cut there`);
        continue;
      }
      damage.push(`${name}: ${read.damage.reason} at byte ${read.damage.offset}, ${read.damage.followedByValid ? "with valid records after it" : "and later segments follow"}: the records from there on cannot be trusted`);
      await this.#keepAside(name, "copy", keptAside, warnings);
      if (acceptLoss) await cutJournal(join(this.dir, name), read.validBytes);
      lost = true;
      break;
    }
    if (!lost && meta?.seq !== undefined && maxSeq < meta.seq) {
      damage.push(`the journal ends at sequence number ${maxSeq} but meta.json records that events up to ${meta.seq} were saved: records are missing`);
      lost = true;
    }
    if (lost && !acceptLoss) return corrupt();
    if (lost) {
      // Continue from the last good point: files past it would put a hole in the history.
      for (let n = last + 1; n <= top; n++) {
        if (journals.has(n)) keptAside.push(await this.#setAside(journalName(n), "move"));
        if (checkpoints.includes(n)) keptAside.push(await this.#setAside(checkpointName(n), "move"));
      }
    }

    this.#segment = last;
    this.#seq = maxSeq;
    this.#written = maxSeq;
    this.#durable = { segment: last, seq: maxSeq };
    let liveHash = found.header.version;
    for (const entry of entries) if (entry.kind !== "event") liveHash = entry.version;
    const kept: ModMeta | undefined = meta === undefined ? undefined : { live: meta.live, history: meta.history, quarantined: meta.quarantined };
    this.#meta = kept ?? { live: liveHash, history: [], quarantined: false };
    if (metaDamaged || lost || meta?.segment !== this.#durable.segment) {
      // Best effort: a read-only or full disk must not turn an intact state into a fault.
      await this.#writeMetaNow().catch((err: unknown) => warnings.push(`meta.json could not be rewritten (${(err as Error).message}); it is written again with the next checkpoint`));
    }
    const recovered: RecoveredMod = { checkpoint: { snapshot: found.snapshot, version: found.header.version }, entries, meta: kept, maxSeq, warnings: [...warnings, ...damage] };
    return { kind: "state", recovered, report: report(lost ? "loss-accepted" : "recovered", { checkpoint: checkpointName(base), replayed: entries.length }) };
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
      const bytes = await journal.append(records);
      this.#observer.journalWrite(records.length, bytes);
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
      const header: CheckpointHeader = { format: 1, version, rng: snapshot.rng, checksum: crc32(snapshot.state), segment: n, seq };
      await atomicWrite(join(this.dir, checkpointName(n)), `${JSON.stringify(header)}\n${snapshot.state}`);
      this.#durable = { segment: n, seq };
      if (this.#meta !== undefined) await this.#writeMetaNow();
      const names = await readdir(this.dir);
      // Keep the newest checkpoint before this one and every segment from it on (the fallback).
      const previous = Math.max(-1, ...names.flatMap((name) => (CHECKPOINT.exec(name) && Number(CHECKPOINT.exec(name)?.[1]) < n ? [Number(CHECKPOINT.exec(name)?.[1])] : [])));
      const keepFrom = previous >= 0 ? previous : n;
      let removed = false;
      for (const name of names) {
        const match = CHECKPOINT.exec(name) ?? JOURNAL.exec(name);
        if (match && Number(match[1]) < keepFrom) {
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

  /** Finishes pending writes and closes the journal. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#lines.idle("journal"), this.#lines.idle("slow")]);
    await this.#journal?.file.close();
    this.#journal = undefined;
  }

  get #name(): string {
    return this.dir.split(/[\\/]/).at(-1) ?? this.dir;
  }

  #failedError(): ModhostError {
    return new ModhostError("E_PERSIST_FAILED", `the journal of ${this.#name} cannot be written (${this.#failure?.message ?? "unknown"}); events are refused until a write succeeds again`, { mod: this.#name });
  }

  async #writeMetaNow(): Promise<void> {
    const meta = this.#meta;
    if (meta === undefined) return;
    await atomicWrite(join(this.dir, "meta.json"), JSON.stringify({ format: 1, ...meta, segment: this.#durable.segment, seq: this.#durable.seq }));
  }

  async #forgetMeta(): Promise<void> {
    await rm(join(this.dir, "meta.json"), { force: true });
    this.#meta = undefined;
  }

  /** #setAside, best effort: a full or read-only disk must not turn a finding into a different failure. */
  async #keepAside(name: string, how: "copy" | "move", keptAside: string[], warnings: string[]): Promise<void> {
    try {
      keptAside.push(await this.#setAside(name, how));
    } catch (err) {
      warnings.push(`${name} could not be ${how === "copy" ? "copied" : "moved"} to damaged/ (${(err as Error).message}); it was left in place`);
    }
  }

  /** Copies (or moves) a file of this store to `damaged/<file>.<timestamp>`; returns the new path. */
  async #setAside(name: string, how: "copy" | "move"): Promise<string> {
    const folder = join(this.dir, "damaged");
    await mkdir(folder, { recursive: true });
    const target = join(folder, `${name}.${new Date().toISOString().replace(/[:.]/g, "-")}`);
    if (how === "copy") await copyFile(join(this.dir, name), target);
    else await rename(join(this.dir, name), target);
    await syncFolder(folder);
    if (how === "move") await syncFolder(this.dir);
    return target;
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
      await this.#journal?.file.close();
      this.#journal = undefined;
      this.#journal = { segment, file: await JournalFile.open(join(this.dir, journalName(segment))) };
    }
    return this.#journal.file;
  }

  async #readCheckpoint(n: number): Promise<{ snapshot: StateSnapshot; header: CheckpointHeader }> {
    const text = await readFile(join(this.dir, checkpointName(n)), "utf8");
    const newline = text.indexOf("\n");
    if (newline < 0) throw new Error("it has no header line (the file is cut short)");
    let header: Partial<CheckpointHeader> & { format?: unknown };
    try {
      header = JSON.parse(text.slice(0, newline)) as Partial<CheckpointHeader>;
    } catch (err) {
      throw new Error(`its header is not JSON: ${(err as Error).message}`);
    }
    if (typeof header.format === "number" && header.format > 1) {
      throw new ModhostError("E_STATE_FORMAT", `${join(this.dir, checkpointName(n))} was written by a newer modhost (format ${header.format}); this one reads format 1`);
    }
    if (header.format !== 1) throw new Error(`its header has format ${JSON.stringify(header.format)}, expected 1`);
    const state = text.slice(newline + 1);
    if (crc32(state) !== header.checksum) throw new Error("the state fails its checksum");
    if (typeof header.version !== "string" || !Array.isArray(header.rng)) throw new Error("the header is incomplete");
    JSON.parse(state); // a checksum collision on garbage would still fail here
    return { snapshot: { state, rng: [...header.rng] }, header: header as CheckpointHeader };
  }

  /** meta.json, or undefined (with a warning, the file copied aside) when it is damaged. */
  async #readMeta(warnings: string[], keptAside: string[]): Promise<(ModMeta & { segment?: number; seq?: number }) | undefined> {
    const path = join(this.dir, "meta.json");
    let raw: Partial<ModMeta> & { format?: unknown; segment?: unknown; seq?: unknown };
    let problem: string | undefined;
    try {
      raw = JSON.parse(await readFile(path, "utf8")) as typeof raw;
      if (typeof raw !== "object" || raw === null) throw new Error("it is not a JSON object");
    } catch (err) {
      raw = {};
      problem = (err as Error).message;
    }
    if (problem === undefined && typeof raw.format === "number" && raw.format > 1) {
      throw new ModhostError("E_STATE_FORMAT", `${path} was written by a newer modhost (format ${raw.format}); this one reads format 1. Upgrade modhost or use another stateDir.`);
    }
    if (problem === undefined && raw.format !== 1) problem = `its format is ${JSON.stringify(raw.format)}, expected the number 1`;
    if (problem === undefined && (typeof raw.live !== "string" || !Array.isArray(raw.history) || raw.history.some((h) => typeof h !== "string"))) problem = "the live version or the history is missing";
    if (problem !== undefined) {
      await this.#keepAside("meta.json", "copy", keptAside, warnings);
      warnings.push(
        `meta.json is damaged (${problem}); the live version was taken from the checkpoint and journal, and the version history, quarantine flag and journal high-water mark it held are lost (missing journal segments at the end cannot be detected this time). It was rewritten; the damaged copy is in damaged/`,
      );
      return undefined;
    }
    return {
      live: raw.live as string,
      history: raw.history as string[],
      quarantined: raw.quarantined === true,
      ...(typeof raw.segment === "number" ? { segment: raw.segment } : {}),
      ...(typeof raw.seq === "number" ? { seq: raw.seq } : {}),
    };
  }
}

const HASH = /[0-9a-f]{64}/g;

/**
 * Every version hash a mod's state folder may name: meta.json, checkpoint headers, and journal
 * records that hand over to a version. Over-approximates (any 64-hex token counts), never under.
 */
export async function scanReferences(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw err;
  }
  for (const name of names) {
    const path = join(dir, name);
    let text: string;
    if (CHECKPOINT.test(name)) {
      const file = await open(path, "r");
      try {
        const buffer = Buffer.alloc(4096);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
        text = buffer.toString("utf8", 0, bytesRead).split("\n")[0] ?? "";
      } finally {
        await file.close();
      }
    } else if (JOURNAL.test(name) || name === "meta.json") {
      text = await readFile(path, "utf8");
    } else if (name === "damaged") {
      // Files kept aside may be restored by hand: keep the versions they name.
      for (const hash of await scanReferences(path)) out.add(hash);
      for (const file of await readdir(path)) for (const m of (await readFile(join(path, file), "utf8").catch(() => "")).matchAll(HASH)) out.add(m[0]);
      continue;
    } else continue;
    for (const m of text.matchAll(HASH)) out.add(m[0]);
  }
  return out;
}

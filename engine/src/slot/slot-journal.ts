import { performance } from "node:perf_hooks";
import type { ModVersion } from "../compile/mod-version.js";
import { decodeEventList, encodeEventList, type EventListText } from "../model/event-list-text.js";
import type { StateSnapshot, WireEvent } from "../model/wire.js";
import type { DurableEntry } from "../persist/durable-entry.js";
import type { StoredVersion } from "../persist/version-store.js";
import type { SlotState } from "./slot-state.js";

/**
 * What happened to the state since the last checkpoint, in order: events (with the capability
 * answers they got) and swaps (code handovers) to a new version, so that a replay runs each
 * event with the code that ran it the first time. An event is its wire event; a transition has a
 * `kind`.
 */
export type JournalEntry = WireEvent | TransitionEntry;

/** Is this journal entry an event (rather than a version transition)? */
export function isEventEntry(entry: JournalEntry): entry is WireEvent {
  return !("kind" in entry);
}

/** A version transition: the new code took over the state as it was ("activate"), or migrated it. */
export type TransitionEntry =
  | { readonly kind: "activate"; readonly version: ModVersion }
  | { readonly kind: "migrate"; readonly version: ModVersion; readonly fromVersion: string; readonly now: number };

export interface Checkpoint {
  readonly snapshot: StateSnapshot;
  /** The version live when it was taken: a respawn starts that version. */
  readonly version: ModVersion;
}

/** Swaps journaled since the checkpoint before one is forced (bounds the versions a respawn needs). */
export const MAX_TRANSITIONS = 8;
/**
 * A periodic checkpoint waits until the mod has been busy with events at least this many times
 * the last checkpoint's cost since the previous one.
 */
const CHECKPOINT_COST_FACTOR = 20;
/**
 * A state whose JSON is at least this long (characters) counts the export the start made as its
 * last checkpoint's cost (see first()). A 10k-entity combat state is ~970k.
 */
const LARGE_STATE_CHARS = 256 * 1024;

/**
 * A slot's checkpoint and journal, in memory and (with a stateDir) on disk: the one place that
 * writes to the mod's store. Writes that are not awaited keep their order in the store's lines.
 */
export class SlotJournal {
  readonly #slot: SlotState;
  checkpoint: Checkpoint | undefined;
  #checkpointAt = performance.now();
  /** How long the last periodic checkpoint's export took (ms), to keep checkpoints to ~5 % of the events' time. */
  #lastCheckpointMs = 0;
  /** Time spent dispatching events since the checkpoint (ms). */
  #busyMs = 0;
  /**
   * The journal: transitions, events with capability records, and runs of the other events, each
   * run one text (model/event-list-text.ts; the only strings here). Every event since the
   * checkpoint is kept, often for seconds, and kept as objects they were most of what the garbage
   * collector copied and promoted (benchmarks/probes/alone.js, 1 mod of 10k entities in 1000-event
   * ticks: a journal that kept nothing took 24 % less CPU than one of objects). The text of a
   * tick's events is the one string every mod's journal shares. Events with capability records
   * stay objects (the records are not in the text).
   */
  #log: (JournalEntry | EventListText)[] = [];
  /** How many events the journal holds. */
  events = 0;
  #transitions = 0;
  /** Set while journal writes fail (see StorageFault): no periodic checkpoint is taken then. */
  writesFailing = false;

  constructor(slot: SlotState) {
    this.#slot = slot;
  }

  /** Version transitions journaled since the checkpoint. */
  get transitions(): number {
    return this.#transitions;
  }

  /** The journal since the checkpoint, in order, each event as its own wire event (for a replay). */
  entries(): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const item of this.#log) {
      if (typeof item === "string") for (const event of decodeEventList(item)) out.push(event);
      else out.push(item);
    }
    return out;
  }

  /** Forgets the checkpoint and the journal (a new start). */
  reset(): void {
    this.#clearLog();
    this.checkpoint = undefined;
  }

  #clearLog(): void {
    this.#log = [];
    this.events = 0;
    this.#transitions = 0;
    this.#busyMs = 0;
  }

  /** Counts `ms` of dispatching events toward the next periodic checkpoint. */
  addBusy(ms: number): void {
    this.#busyMs += ms;
  }

  /** Adds the version hashes the checkpoint and the journal need to `out`. */
  addReferences(out: Set<string>): void {
    if (this.checkpoint !== undefined) out.add(this.checkpoint.version.hash);
    for (const item of this.#log) if (typeof item !== "string" && !isEventEntry(item)) out.add(item.version.hash);
  }

  /** Takes over what recovery read from the stateDir (the entries' versions already compiled). */
  resumeFrom(checkpoint: Checkpoint, entries: JournalEntry[]): void {
    this.checkpoint = checkpoint;
    this.#log = entries;
    this.events = entries.filter(isEventEntry).length;
    this.#transitions = entries.length - this.events;
  }

  /** The first checkpoint, written through (the version, the state, meta.json) before the mod serves. */
  async first(snapshot: StateSnapshot, version: ModVersion): Promise<void> {
    this.checkpoint = { snapshot, version };
    // A large state's export at the start says what its next one will cost, so its first periodic
    // checkpoint waits for its share of the events' time too (a 10k-entity state: a 20-45 ms
    // export after its first 1000 events otherwise). A small state's does not count: its export
    // is cheap, and this one, the mod's first, runs cold and over-states the next.
    if (snapshot.costMs !== undefined && snapshot.state.length >= LARGE_STATE_CHARS) this.#lastCheckpointMs = snapshot.costMs;
    const persistence = this.#slot.ctx.persistence;
    if (persistence === undefined) return;
    await persistence.versions.write(storedVersion(version));
    await persistence.store.checkpoint(snapshot, version.hash);
    await this.writeMeta();
    persistence.versions.release(version.hash);
  }

  /** A new checkpoint in memory only (the store already holds it: it was reopened with it). */
  reopened(snapshot: StateSnapshot, version: ModVersion): void {
    this.checkpoint = { snapshot, version };
    this.#checkpointAt = performance.now();
    this.#clearLog();
  }

  /** A new checkpoint in memory and (written beside the events) on disk; the journal restarts. */
  setCheckpoint(snapshot: StateSnapshot, version: ModVersion): void {
    this.reopened(snapshot, version);
    this.#slot.ctx.persistence?.store.checkpoint(snapshot, version.hash).catch((err: unknown) => this.persistFault("a checkpoint", err));
  }

  /**
   * Journals a version transition: the one path for every swap. With `before`, the state at the
   * barrier (under the old version, taken by a fresh-isolate swap) becomes the new checkpoint and
   * the transition the new journal's first entry. Not awaited: events after it are appended after
   * it, so none is durable before it is.
   */
  transition(entry: TransitionEntry, before?: { readonly snapshot: StateSnapshot; readonly version: ModVersion }): void {
    if (before !== undefined) this.setCheckpoint(before.snapshot, before.version);
    this.#log.push(entry);
    this.#transitions++;
    const durable: DurableEntry = entry.kind === "migrate" ? { kind: "migrate", version: entry.version.hash, fromVersion: entry.fromVersion, now: entry.now } : { kind: "activate", version: entry.version.hash };
    this.#slot.ctx.persistence?.store.append([durable], seqOf).catch((err: unknown) => this.persistFault("the journal", err));
  }

  /**
   * Journals events that ran, durably as the durability setting says. On a failed write they are
   * taken out again (not durable, so not kept) and the error is returned.
   */
  async recordEvents(events: readonly WireEvent[]): Promise<Error | undefined> {
    const log = this.#log;
    const logged = log.length;
    this.#append(events);
    this.events += events.length;
    const store = this.#slot.ctx.persistence?.store;
    if (store === undefined) return undefined;
    try {
      await store.append(
        events.map((event): DurableEntry => ({ kind: "event", event })),
        seqOf,
      );
      return undefined;
    } catch (err) {
      // Unless a checkpoint started a new journal meanwhile (it holds none of these).
      if (this.#log === log) {
        log.length = logged;
        this.events -= events.length;
      }
      return err as Error;
    }
  }

  /** Appends events to the log: runs of events as text, each event with capability records as itself. */
  #append(events: readonly WireEvent[]): void {
    let runFrom = 0;
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as WireEvent;
      if (event.caps === undefined || event.caps.length === 0) continue;
      if (i > runFrom) this.#log.push(encodeEventList(events, runFrom, i));
      this.#log.push(event);
      runFrom = i + 1;
    }
    if (events.length > runFrom) this.#log.push(encodeEventList(events, runFrom));
  }

  /** Takes a checkpoint when one is due (by count, by transitions, or by time). */
  async maybeCheckpoint(): Promise<void> {
    const slot = this.#slot;
    const id = slot.instance.id;
    if (id === undefined || this.#log.length === 0 || this.writesFailing) return;
    // Every checkpointEvery events, but never more than ~5 % of the time the mod spends on events:
    // a large state's export (10k entities: ~45 ms, on the game's thread when inline) must not
    // dominate its events. Measured against the events' own time, not the wall clock: a game's
    // ticks are spaced, and a mod busy 1 ms of every 16 would otherwise export a 45 ms state once
    // per second, three times its own work and a frame's hitch each time. A longer journal only
    // makes a recovery replay more (about 20 checkpoints' time at most); nothing is lost.
    const due =
      this.transitions >= MAX_TRANSITIONS ||
      (this.events >= slot.ctx.checkpointEvery && this.#busyMs >= CHECKPOINT_COST_FACTOR * this.#lastCheckpointMs) ||
      performance.now() - this.#checkpointAt >= slot.ctx.checkpointIntervalMs;
    if (!due) return;
    const started = performance.now();
    const out = await slot.ctx.backend.exportState(id);
    if (out.kind !== "ok") {
      // Keep the old checkpoint and the journal: nothing is lost, recovery just replays more.
      if (out.kind === "failed") slot.fault(out.error.code, `checkpoint failed: ${out.error.message}`);
      else await slot.instance.drop();
      return;
    }
    this.setCheckpoint(out.value, slot.version);
    // Its cost where it ran, like the events' busy time it is weighed against: the wall time here
    // would also hold the other mods' requests of its frame (process isolation) or turn.
    this.#lastCheckpointMs = out.value.costMs ?? performance.now() - started;
    slot.ctx.metrics.checkpoint(slot.name, this.#lastCheckpointMs, out.value.state.length);
  }

  /** meta.json: the live version, its history, the quarantine. */
  writeMeta(): Promise<void> {
    const slot = this.#slot;
    const store = slot.ctx.persistence?.store;
    if (store === undefined) return Promise.resolve();
    return store.writeMeta({ live: slot.version.hash, history: slot.previous.map((v) => v.hash), quarantined: slot.status === "quarantined" });
  }

  /** writeMeta() in the background; a failure is reported as a fault. */
  writeMetaLater(then?: () => void): void {
    void this.writeMeta()
      .then(then)
      .catch((err: unknown) => this.persistFault("the mod's meta", err));
  }

  persistFault(what: string, err: unknown): void {
    this.#slot.fault("E_PERSIST_FAILED", `writing ${what} failed: ${(err as Error).message}`);
  }
}

/** The sequence number a journal record carries (transitions take the last event's). */
function seqOf(entry: DurableEntry): number {
  return entry.kind === "event" ? entry.event.seq : 0;
}

/** What the version store keeps of a version. */
export function storedVersion(version: ModVersion): StoredVersion {
  return { hash: version.hash, manifest: version.manifest, files: Object.fromEntries(version.files) };
}

import { performance } from "node:perf_hooks";
import type { CapabilityRecord, StopReason, WireEvent, WireResult } from "../model/wire.js";
import type { EventQueue, QueuedEvent } from "./event-queue.js";
import { countFault, judgeStop, probationOutcome } from "./fault-policy.js";
import type { Recovery } from "./recovery.js";
import type { SlotJournal } from "./slot-journal.js";
import type { SlotState } from "./slot-state.js";
import type { StorageFault } from "./storage-fault.js";

/** The most events one dispatch carries. */
const MAX_BATCH = 1000;

/**
 * Runs the events at the head of a slot's queue: dispatches them as one batch, journals the ones
 * that ran and then answers their callers, and applies the culprit rules when the batch stopped.
 */
export class BatchRunner {
  readonly #slot: SlotState;
  readonly #journal: SlotJournal;
  readonly #recovery: Recovery;
  readonly #storage: StorageFault;
  #queue: EventQueue | undefined;
  /** Events of the dispatch in flight, by seq, for recording capability answers. */
  readonly #inFlight = new Map<number, QueuedEvent>();

  constructor(slot: SlotState, journal: SlotJournal, recovery: Recovery, storage: StorageFault) {
    this.#slot = slot;
    this.#journal = journal;
    this.#recovery = recovery;
    this.#storage = storage;
  }

  /** The queue this runner takes its events from (the queue calls run(), so it is set after both exist). */
  attach(queue: EventQueue): void {
    this.#queue = queue;
  }

  /** Is this event being dispatched now? Capabilities are answered only inside events in flight. */
  inFlight(seq: number): boolean {
    return this.#inFlight.has(seq);
  }

  /** Records a live capability answer for an event of the dispatch in flight. */
  recordCapability(seq: number, record: CapabilityRecord): void {
    this.#inFlight.get(seq)?.caps.push(record);
  }

  /** Dispatches the run of events at the head of the queue, and deals with how it ended. */
  async run(): Promise<void> {
    const slot = this.#slot;
    const queue = this.#queue as EventQueue;
    const batch = queue.headEvents(slot.singleStep > 0 ? 1 : MAX_BATCH);
    if (slot.stopped) {
      const code = slot.status === "quarantined" ? "E_QUARANTINED" : "E_MOD_FAULTED";
      for (const item of batch) this.#finish(item, { ok: false, error: { code, message: slot.lastError?.message ?? `mod ${slot.name} is ${slot.status}` } });
      return;
    }
    if (this.#storage.active && !(await this.#storage.retry())) {
      const message = `the journal cannot be written (${this.#storage.message}); the event was not run. The mod resumes by itself once storage works again`;
      for (const item of batch) this.#finish(item, { ok: false, error: { code: "E_PERSIST_FAILED", message } });
      return;
    }
    if (!(await this.#recovery.ensureInstance())) return; // faulted: the next round fails the events

    for (const item of batch) this.#inFlight.set(item.event.seq, item);
    const events = batch.map((item) => (item.caps.length > 0 ? { ...item.event, caps: [...item.caps] } : item.event));
    let outcome;
    try {
      outcome = await slot.ctx.backend.dispatch(slot.instance.id as string, events, false);
    } finally {
      this.#inFlight.clear();
    }
    const { results, stop } = outcome;
    const ran: [QueuedEvent, WireResult][] = [];
    for (let i = 0; i < results.length; i++) ran.push([batch[i] as QueuedEvent, results[i] as WireResult]);
    await this.#journalAndAnswer(ran);
    if (slot.singleStep > 0 && results.length > 0) slot.singleStep = Math.max(0, slot.singleStep - results.length);
    if (stop === undefined && results.some((r) => r.ok)) slot.consecutiveFaults = 0;
    if (outcome.late !== undefined && outcome.late > 0) {
      // The events ran; what they left behind was cut off. The state holds whatever it did.
      countFault(slot, this.#journal, "E_TIMEOUT", "work a handler left behind (promise callbacks) ran past the time limit after the handler returned, and was stopped", undefined);
    }
    if (stop === undefined) {
      await this.#journal.maybeCheckpoint();
      return;
    }
    await this.#onStop(stop, batch.slice(results.length));
  }

  async #onStop(stop: StopReason, rest: QueuedEvent[]): Promise<void> {
    const slot = this.#slot;
    // Tainted or gone: the next dispatch respawns from the checkpoint.
    await slot.instance.drop();
    const verdict = judgeStop(
      stop,
      rest.map((item) => item.event.name),
      slot.version.spec,
    );
    if (verdict.singleStep !== undefined) slot.singleStep = verdict.singleStep;
    const culprit = rest[0];
    if (verdict.fail !== undefined && culprit !== undefined) {
      this.#finish(culprit, { ok: false, error: { code: verdict.fail.code, message: verdict.fail.message } });
      countFault(slot, this.#journal, verdict.fail.code, verdict.fail.message, culprit.event.name);
    }
    // Crashes are retried: the events run again after the respawn, unless this mod is now quarantined.
    if (verdict.count !== undefined) countFault(slot, this.#journal, verdict.count.code, verdict.count.message, verdict.count.event);
  }

  /**
   * Journals events that ran (durably, as the durability setting says) and then answers their
   * callers: a result is never returned for an event that a crash could still lose.
   */
  async #journalAndAnswer(ran: readonly [QueuedEvent, WireResult][]): Promise<void> {
    if (ran.length === 0) return;
    (this.#queue as EventQueue).remove(ran.map(([item]) => item));
    const events: WireEvent[] = ran.map(([item]) => (item.caps.length > 0 ? { ...item.event, caps: item.caps } : item.event));
    const failed = await this.#journal.recordEvents(events);
    if (failed !== undefined) {
      // Not durable, so not acknowledged and not kept: the instance goes back to the last
      // durable point (the next one is respawned from the checkpoint and the journal without
      // these events) and their callers get E_PERSIST_FAILED. Applied and acknowledged agree.
      await this.#slot.instance.drop();
      const message = `the journal write failed (${failed.message}); the event's effects were undone`;
      this.#storage.enter(failed.message);
      for (const [item] of ran) this.#answer(item, { ok: false, error: { code: "E_PERSIST_FAILED", message } });
      return;
    }
    for (const [item, result] of ran) this.#answer(item, result);
  }

  /** Fails an event that did not run (nothing to journal). */
  #finish(item: QueuedEvent, result: WireResult): void {
    (this.#queue as EventQueue).remove([item]);
    this.#answer(item, result);
  }

  #answer(item: QueuedEvent, result: WireResult): void {
    const slot = this.#slot;
    const version = slot.version.manifest.version;
    slot.ctx.metrics.event(slot.name, result.ok ? undefined : result.error.code, performance.now() - item.queuedAt);
    if (result.ok) {
      item.resolve(result.value === undefined ? { mod: slot.name, version, ok: true } : { mod: slot.name, version, ok: true, value: result.value });
    } else {
      item.resolve({ mod: slot.name, version, ok: false, error: slot.failureInfo(result.error) });
    }
    if (slot.probation === undefined || slot.status !== "running") return;
    const outcome = probationOutcome(result);
    if (outcome === undefined) return;
    const verdict = slot.probation.record(outcome);
    if (verdict !== undefined) slot.ctx.probationFailed(`version ${version} ${verdict}`);
  }
}

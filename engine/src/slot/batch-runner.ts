import { performance } from "node:perf_hooks";
import type { CapabilityRecord, StopReason, WireEvent, WireResult } from "../model/wire.js";
import type { EventQueue, QueuedEvent } from "./event-queue.js";
import { countFault, judgeStop, probationOutcome } from "./fault-policy.js";
import type { Recovery } from "./recovery.js";
import type { SlotJournal } from "./slot-journal.js";
import type { SlotState } from "./slot-state.js";
import type { StorageFault } from "./storage-fault.js";
import { locatedTimeout, type LocatedFailure } from "./timeout-location.js";

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
  /**
   * Events of the dispatch in flight, for recording capability answers. Their seqs ascend (queue
   * order is emit order), so a seq is found by bisection rather than a Map entry per event.
   */
  #inFlight: readonly QueuedEvent[] = [];

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
    return this.#findInFlight(seq) !== undefined;
  }

  /** Records a live capability answer for an event of the dispatch in flight. */
  recordCapability(seq: number, record: CapabilityRecord): void {
    const item = this.#findInFlight(seq);
    if (item === undefined) return;
    if (item.caps === undefined) item.caps = [record];
    else item.caps.push(record);
  }

  #findInFlight(seq: number): QueuedEvent | undefined {
    const batch = this.#inFlight;
    let lo = 0;
    let hi = batch.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const item = batch[mid] as QueuedEvent;
      const at = item.event.seq;
      if (at === seq) return item;
      if (at < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
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

    this.#inFlight = batch;
    const events = batch.map(wireOf);
    let outcome;
    try {
      outcome = await slot.ctx.backend.dispatch(slot.instance.id as string, events, false);
    } finally {
      this.#inFlight = [];
    }
    const { results, stop } = outcome;
    if (outcome.ranMs !== undefined) this.#journal.addBusy(outcome.ranMs);
    await this.#journalAndAnswer(results.length === batch.length ? batch : batch.slice(0, results.length), results);
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
      const failure = verdict.fail.code === "E_TIMEOUT" ? await this.#locate(culprit, verdict.fail) : verdict.fail;
      this.#finish(culprit, { ok: false, error: failure });
      const info = slot.failureInfo(failure);
      countFault(slot, this.#journal, verdict.fail.code, failure.message, culprit.event.name, info);
    }
    // Crashes are retried: the events run again after the respawn, unless this mod is now quarantined.
    if (verdict.count !== undefined) countFault(slot, this.#journal, verdict.count.code, verdict.count.message, verdict.count.event);
  }

  /**
   * Where a timed-out event was looping (slot/timeout-location.ts). The fault waits for it: one
   * more time limit of CPU, and the respawn the next event needed anyway (it gives the state
   * before the event, which the located run starts from). Events behind it wait as long.
   */
  async #locate(culprit: QueuedEvent, failure: LocatedFailure): Promise<LocatedFailure> {
    const slot = this.#slot;
    if (!(await this.#recovery.ensureInstance())) return failure;
    const snapshot = await slot.ctx.backend.exportState(slot.instance.id as string);
    if (snapshot.kind !== "ok") return failure;
    const event = wireOf(culprit);
    return locatedTimeout(slot.ctx.backend, slot.version, failure, { spec: slot.version.spec, seed: snapshot.value.rng, now: event.now, snapshot: snapshot.value, event });
  }

  /**
   * Journals events that ran (durably, as the durability setting says) and then answers their
   * callers: a result is never returned for an event that a crash could still lose.
   * `ran[i]` got `results[i]`.
   */
  async #journalAndAnswer(ran: readonly QueuedEvent[], results: readonly WireResult[]): Promise<void> {
    if (ran.length === 0) return;
    (this.#queue as EventQueue).remove(ran);
    // The wire events again, with the capability answers recorded during the dispatch.
    const failed = await this.#journal.recordEvents(ran.map(journaledOf));
    if (failed !== undefined) {
      // Not durable, so not acknowledged and not kept: the instance goes back to the last
      // durable point (the next one is respawned from the checkpoint and the journal without
      // these events) and their callers get E_PERSIST_FAILED. Applied and acknowledged agree.
      await this.#slot.instance.drop();
      const message = `the journal write failed (${failed.message}); the event's effects were undone`;
      this.#storage.enter(failed.message);
      const error: WireResult = { ok: false, error: { code: "E_PERSIST_FAILED", message } };
      this.#answerAll(ran, () => error);
      return;
    }
    this.#answerAll(ran, (i) => results[i] as WireResult);
  }

  /** Fails an event that did not run (nothing to journal). */
  #finish(item: QueuedEvent, result: WireResult): void {
    (this.#queue as EventQueue).remove([item]);
    this.#answerAll([item], () => result);
  }

  /**
   * Answers events; the metrics are counted once per run of events queued by one call (they share
   * their queue time, so their latency is the same), not once per event.
   */
  #answerAll(items: readonly QueuedEvent[], resultOf: (i: number) => WireResult): void {
    const slot = this.#slot;
    const metrics = slot.ctx.metrics;
    const version = slot.version.manifest.version;
    const now = performance.now();
    let runStart = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as QueuedEvent;
      const result = resultOf(i);
      if (result.ok) {
        item.sink.put(result.value === undefined ? { mod: slot.name, version, ok: true } : { mod: slot.name, version, ok: true, value: result.value }, item.index);
      } else {
        metrics.error(slot.name, result.error.code);
        item.sink.put({ mod: slot.name, version, ok: false, error: slot.failureInfo(result.error) }, item.index);
      }
      const next = items[i + 1];
      if (next === undefined || next.sink !== item.sink) {
        metrics.events(slot.name, i + 1 - runStart, now - item.sink.queuedAt);
        runStart = i + 1;
      }
      if (slot.probation !== undefined && slot.status === "running") this.#probation(result, version);
    }
  }

  #probation(result: WireResult, version: string): void {
    const slot = this.#slot;
    const outcome = probationOutcome(result);
    if (outcome === undefined || slot.probation === undefined) return;
    const verdict = slot.probation.record(outcome);
    if (verdict !== undefined) slot.ctx.probationFailed(`version ${version} ${verdict}`);
  }
}

/** What goes to the sandbox: the event, and the capability answers it got on an earlier try (a copy: the dispatch may add more). */
function wireOf(item: QueuedEvent): WireEvent {
  return item.caps === undefined ? item.event : { ...item.event, caps: [...item.caps] };
}

/** What goes to the journal: the event with every capability answer it got. */
function journaledOf(item: QueuedEvent): WireEvent {
  return item.caps === undefined ? item.event : { ...item.event, caps: item.caps };
}

import { performance } from "node:perf_hooks";
import type { EmitResult } from "../model/mod-events.js";
import type { CapabilityRecord, WireEvent } from "../model/wire.js";
import { nextTurn, turnOverdue } from "./event-loop-turn.js";

/**
 * Takes the results of the events one call queued (emit(), emitMany(), enqueue()). An object
 * rather than a function, so that a call's own result list can be the sink, with no closure made
 * per call.
 */
export interface ResultSink {
  /** performance.now() when the call was made, for the latency histogram (one reading per call). */
  readonly queuedAt: number;
  /** One event's result for one mod; `index` says where it goes among the call's results. */
  put(result: EmitResult, index: number): void;
}

/** An event waiting in (or going through) a mod's queue. */
export interface QueuedEvent {
  readonly kind: "event";
  readonly event: WireEvent;
  /** Capability answers given so far; served again if the event has to be run again. Made on the first answer. */
  caps: CapabilityRecord[] | undefined;
  /** Shared by every mod and event of one emit() or emitMany() call (see deliver()). */
  readonly sink: ResultSink;
  readonly index: number;
}

interface QueuedTask {
  readonly kind: "task";
  readonly run: () => Promise<void>;
}

type QueueItem = QueuedEvent | QueuedTask;

/**
 * The one queue that orders everything that touches a mod: events, state reads, swaps. Tasks run
 * alone; a run of events at the head goes to `runEvents` together (it takes off the queue what it
 * answered). The pump yields the event-loop turn when it has held it too long (see TURN_SLICE_MS).
 */
export class EventQueue {
  readonly #items: QueueItem[] = [];
  readonly #runEvents: () => Promise<void>;
  #pumping = false;

  constructor(runEvents: () => Promise<void>) {
    this.#runEvents = runEvents;
  }

  /** Queues an event; resolves with the mod's result once it has run (or failed). */
  enqueue(event: WireEvent): Promise<EmitResult> {
    return new Promise((resolve) => this.deliver(event, { queuedAt: performance.now(), put: resolve }, 0));
  }

  /**
   * Queues an event whose result goes to `sink` as `(result, index)`. One sink serves every mod
   * and every event of one emit() or emitMany() call: one promise per call, not per mod and event.
   */
  deliver(event: WireEvent, sink: ResultSink, index: number): void {
    this.#items.push({ kind: "event", event, caps: undefined, sink, index });
    this.#schedule();
  }

  /** Runs `fn` in queue order: after every event queued before it, before any queued after. */
  task<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#items.push({ kind: "task", run: () => fn().then(resolve, reject) });
      this.#schedule();
    });
  }

  /** The run of events at the head of the queue, at most `limit` of them. */
  headEvents(limit: number): QueuedEvent[] {
    const batch: QueuedEvent[] = [];
    for (const item of this.#items) {
      if (item.kind !== "event" || batch.length >= limit) break;
      batch.push(item);
    }
    return batch;
  }

  /** Takes answered events off the queue. */
  remove(items: readonly QueuedEvent[]): void {
    // Events that ran are the head of the queue, in order: drop them in one splice.
    if (items.length > 0 && this.#items[0] === items[0] && this.#items[items.length - 1] === items[items.length - 1]) {
      this.#items.splice(0, items.length);
      return;
    }
    for (const item of items) {
      const index = this.#items.indexOf(item);
      if (index >= 0) this.#items.splice(index, 1);
    }
  }

  #schedule(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    if (turnOverdue()) setImmediate(() => void this.#pump());
    else queueMicrotask(() => void this.#pump());
  }

  async #pump(): Promise<void> {
    try {
      while (this.#items.length > 0) {
        if (turnOverdue()) await nextTurn(); // let timers, I/O and reloads run (see TURN_SLICE_MS)
        const head = this.#items[0] as QueueItem;
        if (head.kind === "task") {
          this.#items.shift();
          await head.run();
          continue;
        }
        await this.#runEvents();
      }
    } finally {
      this.#pumping = false;
      if (this.#items.length > 0) this.#schedule();
    }
  }
}

import { randomInt } from "node:crypto";
import { mapStackTrace } from "../compile/source-position.js";
import type { ErrorCode } from "../errors/error-codes.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import type { CapabilityRecord, ModShape, StateSnapshot, StopReason, WireError, WireEvent, WireResult } from "../sandbox/wire.js";
import type { ModVersion } from "./mod-loader.js";

/** A mod's status as operators see it. */
export type ModStatus = "running" | "faulted" | "quarantined" | "pending-approval";

/** One mod's answer to one emitted event. */
export interface EmitResult {
  readonly mod: string;
  readonly version: string;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: ErrorInfo;
}

/** A fault: a mod hit a limit, crashed the sandbox, or could not be restored. */
export interface FaultEvent {
  readonly mod: string;
  readonly version: string;
  readonly code: ErrorCode;
  readonly message: string;
  /** The event being handled when it happened, if any. */
  readonly event?: string;
  readonly quarantined: boolean;
}

/** What a slot needs from its host. */
export interface SlotContext {
  readonly backend: SandboxBackend;
  readonly checkpointEvery: number;
  readonly quarantineAfter: number;
  fault(fault: FaultEvent): void;
}

/** An event waiting in (or going through) a mod's queue. */
interface QueuedEvent {
  readonly kind: "event";
  readonly event: WireEvent;
  /** Capability answers given so far; served again if the event has to be run again. */
  readonly caps: CapabilityRecord[];
  readonly resolve: (result: EmitResult) => void;
}

interface QueuedTask {
  readonly kind: "task";
  readonly run: () => Promise<void>;
}

type QueueItem = QueuedEvent | QueuedTask;

/** An event that changed the state since the last checkpoint, with the answers it was given. */
interface JournalEntry {
  readonly event: WireEvent;
}

const MAX_BATCH = 1000;

/**
 * One loaded mod: its version, its live instance in the sandbox, its checkpoint and journal, and
 * the queue that orders everything that touches it (events, state reads, swaps, unloading).
 *
 * Recovery: the state lives in the isolate, so after anything that loses or taints it (a timeout
 * cut a handler short, the memory limit disposed the isolate, the sandbox process died) the slot
 * starts a new instance from the last checkpoint and replays the journal, serving capability
 * answers from the records. Events that were lost with the old instance run again; a culprit
 * event gets an error instead (or, for a crash, another try until quarantine).
 */
export class ModSlot {
  readonly name: string;
  #version: ModVersion;
  #status: ModStatus = "running";
  #shape: ModShape | undefined;
  #instance: string | undefined;
  #instanceGeneration = -1;
  #checkpoint: StateSnapshot | undefined;
  #journal: JournalEntry[] = [];
  #queue: QueueItem[] = [];
  #pumping = false;
  #consecutiveFaults = 0;
  /** How many upcoming events run one at a time, to find the culprit of a lost batch. */
  #singleStep = 0;
  #lastError: ErrorInfo | undefined;
  readonly #ctx: SlotContext;
  /** Capability calls of the dispatch in flight, by event seq. */
  readonly #inFlight = new Map<number, QueuedEvent>();

  constructor(version: ModVersion, ctx: SlotContext) {
    this.name = version.manifest.name;
    this.#version = version;
    this.#ctx = ctx;
  }

  get version(): ModVersion {
    return this.#version;
  }
  get status(): ModStatus {
    return this.#status;
  }
  get lastError(): ErrorInfo | undefined {
    return this.#lastError;
  }

  /** Does this mod handle `event`? (A quarantined mod still answers, with an error.) */
  handles(event: string): boolean {
    return this.#shape?.events.includes(event) ?? false;
  }

  /** Starts the first instance with init() and takes the first checkpoint. */
  async start(): Promise<ErrorInfo | undefined> {
    const backend = this.#ctx.backend;
    const started = await backend.start(this.#version.spec, randomSeed(), { kind: "init", now: Date.now() });
    if (!started.ok) {
      const error = this.#errorInfo(started.error.code, started.error.message, started.error.stack);
      this.#status = "faulted";
      this.#lastError = error;
      return error;
    }
    this.#instance = started.id;
    this.#instanceGeneration = backend.generation;
    this.#shape = started.shape;
    const snapshot = await backend.exportState(started.id);
    if (snapshot.kind !== "ok") {
      const error = this.#errorInfo(snapshot.kind === "failed" ? snapshot.error.code : "E_INTERNAL", snapshot.kind === "failed" ? snapshot.error.message : `exporting the first state: ${snapshot.kind}`);
      this.#status = "faulted";
      this.#lastError = error;
      await backend.stop(started.id);
      this.#instance = undefined;
      return error;
    }
    this.#checkpoint = snapshot.value;
    return undefined;
  }

  /** Queues an event; resolves with this mod's result once it has run (or failed). */
  enqueue(event: WireEvent): Promise<EmitResult> {
    return new Promise((resolve) => {
      this.#queue.push({ kind: "event", event, caps: [], resolve });
      this.#schedule();
    });
  }

  /** Runs `fn` in queue order: after every event queued before it, before any queued after. */
  task<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ kind: "task", run: () => fn().then(resolve, reject) });
      this.#schedule();
    });
  }

  /** A copy of the state, in queue order. */
  state(): Promise<unknown> {
    return this.task(async () => {
      const snapshot = await this.#snapshot();
      return JSON.parse(snapshot.state) as unknown;
    });
  }

  /** Heap figures of the live instance. */
  async heap(): Promise<{ usedBytes: number; limitBytes: number } | undefined> {
    return this.#instance === undefined ? undefined : this.#ctx.backend.heap(this.#instance);
  }

  /** Records a live capability answer for an event of the dispatch in flight. */
  recordCapability(seq: number, record: CapabilityRecord): void {
    this.#inFlight.get(seq)?.caps.push(record);
  }

  /** Stops the instance after everything queued so far; later events get E_HOST_CLOSED. */
  close(): Promise<void> {
    return this.task(async () => {
      this.#status = "faulted";
      this.#lastError = { code: "E_HOST_CLOSED", message: "the mod was unloaded", mod: this.name };
      await this.#dropInstance();
    });
  }

  #schedule(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    queueMicrotask(() => void this.#pump());
  }

  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const head = this.#queue[0] as QueueItem;
        if (head.kind === "task") {
          this.#queue.shift();
          await head.run();
          continue;
        }
        await this.#runEvents();
      }
    } finally {
      this.#pumping = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  /** Dispatches the run of events at the head of the queue, and deals with how it ended. */
  async #runEvents(): Promise<void> {
    const limit = this.#singleStep > 0 ? 1 : MAX_BATCH;
    const batch: QueuedEvent[] = [];
    for (const item of this.#queue) {
      if (item.kind !== "event" || batch.length >= limit) break;
      batch.push(item);
    }
    if (this.#status === "quarantined" || this.#status === "faulted") {
      const code = this.#status === "quarantined" ? "E_QUARANTINED" : "E_MOD_FAULTED";
      for (const item of batch) this.#finish(item, { ok: false, error: { code, message: this.#lastError?.message ?? `mod ${this.name} is ${this.#status}` } }, false);
      return;
    }
    if (!(await this.#ensureInstance())) return; // faulted: the next round fails the events

    const backend = this.#ctx.backend;
    for (const item of batch) this.#inFlight.set(item.event.seq, item);
    const events = batch.map((item) => (item.caps.length > 0 ? { ...item.event, caps: [...item.caps] } : item.event));
    let outcome;
    try {
      outcome = await backend.dispatch(this.#instance as string, events, false);
    } finally {
      this.#inFlight.clear();
    }
    const { results, stop } = outcome;
    for (let i = 0; i < results.length; i++) this.#finish(batch[i] as QueuedEvent, results[i] as WireResult, true);
    if (this.#singleStep > 0 && results.length > 0) this.#singleStep = Math.max(0, this.#singleStep - results.length);
    if (stop === undefined) {
      if (results.length > 0 && results.some((r) => r.ok)) this.#consecutiveFaults = 0;
      await this.#maybeCheckpoint();
      return;
    }
    await this.#onStop(stop, batch.slice(results.length));
  }

  async #onStop(stop: StopReason, rest: QueuedEvent[]): Promise<void> {
    // Tainted or gone: the next dispatch restores from the checkpoint.
    await this.#dropInstance();
    const culprit = rest[0];
    switch (stop) {
      case "timeout":
        if (culprit) this.#fail(culprit, "E_TIMEOUT", `on.${culprit.event.name}() ran past the ${this.#version.spec.callTimeoutMs} ms time limit and was stopped; its changes to the state were undone`);
        return;
      case "memory":
        if (rest.length > 1) {
          this.#singleStep = rest.length; // find which event it was
          return;
        }
        if (culprit) this.#fail(culprit, "E_MEMORY_LIMIT", `on.${culprit.event.name}() ran past the ${this.#version.spec.memoryMb} MB memory limit; the state was restored to before this event`);
        return;
      case "crashed":
        if (rest.length > 1) {
          this.#singleStep = rest.length;
          this.#countFault("E_SANDBOX_CRASHED", "the sandbox process died while this mod was running", culprit?.event.name);
          return;
        }
        if (culprit) {
          // Crashes are retried: the batch is run again after recovery, unless this mod is now quarantined.
          this.#countFault("E_SANDBOX_CRASHED", `the sandbox process died while on.${culprit.event.name}() was running`, culprit.event.name);
        }
        return;
      case "lost":
      case "disposed":
        return; // another mod's crash, or the instance went away: run them again after recovery
    }
  }

  /** Stops the live instance (if its sandbox still has it) and forgets it. */
  async #dropInstance(): Promise<void> {
    const id = this.#instance;
    this.#instance = undefined;
    if (id !== undefined && this.#instanceGeneration === this.#ctx.backend.generation) await this.#ctx.backend.stop(id);
  }

  /** Fails the culprit event with `code` and counts the fault towards quarantine. */
  #fail(item: QueuedEvent, code: ErrorCode, message: string): void {
    this.#finish(item, { ok: false, error: { code, message } }, false);
    this.#countFault(code, message, item.event.name);
  }

  #countFault(code: ErrorCode, message: string, event: string | undefined): void {
    this.#consecutiveFaults++;
    const quarantined = this.#consecutiveFaults >= this.#ctx.quarantineAfter;
    if (quarantined) {
      this.#status = "quarantined";
      this.#lastError = { code: "E_QUARANTINED", message: `mod ${this.name} was quarantined after ${this.#consecutiveFaults} faults in a row; last: ${message}`, mod: this.name };
    }
    this.#ctx.fault({ mod: this.name, version: this.#version.manifest.version, code, message, ...(event !== undefined ? { event } : {}), quarantined });
  }

  /** Removes a finished event from the queue, journals it if it ran, and answers its caller. */
  #finish(item: QueuedEvent, result: WireResult, ran: boolean): void {
    const index = this.#queue.indexOf(item);
    if (index >= 0) this.#queue.splice(index, 1);
    if (ran) this.#journal.push({ event: item.caps.length > 0 ? { ...item.event, caps: item.caps } : item.event });
    const version = this.#version.manifest.version;
    if (result.ok) {
      item.resolve(result.value === undefined ? { mod: this.name, version, ok: true } : { mod: this.name, version, ok: true, value: result.value });
    } else {
      item.resolve({ mod: this.name, version, ok: false, error: this.#errorInfo(result.error.code, result.error.message, result.error.stack) });
    }
  }

  /** Makes sure a live instance holds the state as of the last journaled event. */
  async #ensureInstance(): Promise<boolean> {
    const backend = this.#ctx.backend;
    if (this.#instance !== undefined && this.#instanceGeneration === backend.generation) return true;
    this.#instance = undefined; // its sandbox process is gone, and the instance with it
    for (let attempt = 0; attempt < 3; attempt++) {
      const restored = await this.#restore();
      if (restored === "ok") return true;
      if (restored !== "lost") break;
    }
    if (this.#status === "running") {
      this.#status = "faulted";
      this.#lastError ??= { code: "E_MOD_FAULTED", message: `mod ${this.name} could not be restored from its checkpoint`, mod: this.name };
      this.#ctx.fault({ mod: this.name, version: this.#version.manifest.version, code: "E_MOD_FAULTED", message: this.#lastError.message, quarantined: false });
    }
    return false;
  }

  async #restore(): Promise<"ok" | "lost" | "failed"> {
    const backend = this.#ctx.backend;
    const checkpoint = this.#checkpoint;
    if (checkpoint === undefined) return "failed";
    const started = await backend.start(this.#version.spec, checkpoint.rng, { kind: "import", snapshot: checkpoint });
    if (!started.ok) {
      if (started.stop === "lost") return "lost";
      this.#lastError = this.#errorInfo("E_MOD_FAULTED", `restoring from the checkpoint failed: ${started.error.message}`);
      return "failed";
    }
    const generation = backend.generation;
    if (this.#journal.length > 0) {
      const replay = await backend.dispatch(started.id, this.#journal.map((entry) => entry.event), true);
      if (replay.stop !== undefined || replay.results.length !== this.#journal.length) {
        if (replay.stop === "lost") return "lost";
        await backend.stop(started.id);
        this.#lastError = this.#errorInfo("E_MOD_FAULTED", `replaying ${this.#journal.length} journaled events failed (${replay.stop ?? "short"})`);
        return "failed";
      }
    }
    this.#instance = started.id;
    this.#instanceGeneration = generation;
    return "ok";
  }

  async #snapshot(): Promise<StateSnapshot> {
    if (!(await this.#ensureInstance())) {
      if (this.#checkpoint && this.#journal.length === 0) return this.#checkpoint;
      throw new Error(this.#lastError?.message ?? `mod ${this.name} is not running`);
    }
    const out = await this.#ctx.backend.exportState(this.#instance as string);
    if (out.kind === "ok") return out.value;
    if (out.kind !== "failed") await this.#dropInstance();
    throw new Error(out.kind === "failed" ? out.error.message : `reading the state failed: ${out.kind}`);
  }

  async #maybeCheckpoint(): Promise<void> {
    if (this.#journal.length < this.#ctx.checkpointEvery || this.#instance === undefined) return;
    const out = await this.#ctx.backend.exportState(this.#instance);
    if (out.kind !== "ok") {
      // Keep the old checkpoint and the journal: nothing is lost, recovery just replays more.
      if (out.kind === "failed") this.#ctx.fault({ mod: this.name, version: this.#version.manifest.version, code: out.error.code, message: `checkpoint failed: ${out.error.message}`, quarantined: false });
      else await this.#dropInstance();
      return;
    }
    this.#checkpoint = out.value;
    this.#journal = [];
  }

  /** An ErrorInfo whose position points at the mod's .ts source when a stack is known. */
  #errorInfo(code: string, message: string, stack?: string): ErrorInfo {
    const base = { code: code as ErrorCode, message, mod: this.name };
    if (stack === undefined) return base;
    const modules = this.#version.modules;
    const mapped = mapStackTrace(stack, (file) => modules.find((m) => m.path === file));
    if (mapped.top === undefined) return base;
    return { ...base, file: mapped.top.file, line: mapped.top.line, column: mapped.top.column };
  }
}

/** Four random 32-bit words: the first seed of a mod's random generator. */
function randomSeed(): number[] {
  return [randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32)];
}

export type { WireError };

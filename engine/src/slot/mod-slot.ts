import type { ModVersion } from "../compile/mod-version.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { EmitResult, ModStatus } from "../model/mod-events.js";
import type { SwapPlan } from "../model/swap-plan.js";
import type { SwapReport } from "../model/swap-report.js";
import type { CapabilityRecord, WireEvent } from "../model/wire.js";
import { BatchRunner } from "./batch-runner.js";
import { EventQueue, type ResultSink } from "./event-queue.js";
import { randomSeed } from "./live-instance.js";
import { Recovery } from "./recovery.js";
import type { ResumeInput, SlotContext } from "./slot-context.js";
import { SlotJournal, type JournalEntry } from "./slot-journal.js";
import { SlotState } from "./slot-state.js";
import { StorageFault } from "./storage-fault.js";
import { SwapTransaction } from "./swap-transaction.js";
import { locatedTimeout } from "./timeout-location.js";
import { failureIn } from "../sandbox/sandbox-outcome.js";

/** How many times the first start is tried when another mod's crash takes the sandbox down under it. */
const START_ATTEMPTS = 4;

/**
 * One loaded mod: its live version and history, its instance in the sandbox, its checkpoint and
 * journal, and the queue that orders everything that touches it (events, state reads, swaps).
 * The parts live beside it in slot/: the queue (event-queue), the runner and its culprit rules
 * (batch-runner, fault-policy), recovery (a respawn and a replay), the journal and checkpoints
 * (slot-journal, storage-fault), and the swap, a code handover (swap-transaction).
 */
export class ModSlot {
  readonly name: string;
  readonly #slot: SlotState;
  readonly #journal: SlotJournal;
  readonly #recovery: Recovery;
  readonly #storage: StorageFault;
  readonly #runner: BatchRunner;
  readonly #queue: EventQueue;
  readonly #swap: SwapTransaction;
  /** Has its first start or resume ended (it runs, or it faulted)? Until then it is listed "starting". */
  #settled = false;

  constructor(version: ModVersion, ctx: SlotContext) {
    this.#slot = new SlotState(version, ctx);
    this.name = this.#slot.name;
    this.#journal = new SlotJournal(this.#slot);
    this.#recovery = new Recovery(this.#slot, this.#journal);
    this.#storage = new StorageFault(this.#slot, this.#journal, this.#recovery, (fn) => void this.task(fn));
    this.#runner = new BatchRunner(this.#slot, this.#journal, this.#recovery, this.#storage);
    this.#queue = new EventQueue(() => this.#runner.run());
    this.#runner.attach(this.#queue);
    this.#swap = new SwapTransaction(this.#slot, this.#journal, this.#recovery, this.#queue);
  }

  get version(): ModVersion {
    return this.#slot.version;
  }
  get status(): ModStatus {
    const slot = this.#slot;
    if (!this.#settled && slot.status === "running") return "starting";
    return slot.pendingApproval !== undefined && slot.status === "running" ? "pending-approval" : slot.status;
  }
  get lastError(): ErrorInfo | undefined {
    return this.#slot.lastError;
  }
  /** Versions that rollback() can return to, newest last. */
  get previousVersions(): readonly ModVersion[] {
    return this.#slot.previous;
  }
  /** The event names the live instance handles (empty until it started). */
  get handledEvents(): readonly string[] {
    return this.#slot.shape?.events ?? [];
  }
  /** The version waiting for the operator's approval, if any. */
  get pendingApproval(): { version: ModVersion; plan: SwapPlan } | undefined {
    return this.#slot.pendingApproval;
  }

  /** Every version hash this slot still needs: live, history, pending approval, checkpoint, journal. */
  referencedVersions(): Set<string> {
    const slot = this.#slot;
    const out = new Set<string>([slot.version.hash, ...slot.previous.map((v) => v.hash)]);
    if (slot.pendingApproval !== undefined) out.add(slot.pendingApproval.version.hash);
    this.#journal.addReferences(out);
    return out;
  }

  /** Does this mod handle `event`? (A quarantined mod still answers, with an error.) */
  handles(event: string): boolean {
    return this.#slot.shape?.events.includes(event) ?? false;
  }

  /** Starts the first instance with init() and takes the first checkpoint. */
  async start(): Promise<ErrorInfo | undefined> {
    try {
      return await this.#start();
    } finally {
      this.#settled = true;
    }
  }

  async #start(): Promise<ErrorInfo | undefined> {
    const slot = this.#slot;
    this.#reset();
    const backend = slot.ctx.backend;
    const seed = randomSeed(slot.ctx.randomSeed, slot.name);
    const now = Date.now();
    let started = await backend.start(slot.version.spec, seed, { kind: "init", now });
    // Another mod crashed the sandbox while this one was starting: start again (it was not at fault).
    for (let attempt = 1; started.kind === "lost" && attempt < START_ATTEMPTS; attempt++) {
      started = await backend.start(slot.version.spec, seed, { kind: "init", now });
    }
    if (started.kind === "timeout") {
      // A top-level loop (or init()): the start runs again, profiled, to say where (slot/timeout-location.ts).
      const failure = await locatedTimeout(backend, slot.version, failureIn(started, "starting the mod"), { spec: slot.version.spec, seed, now });
      return slot.failStart(slot.failureInfo(failure));
    }
    if (started.kind !== "ok") return slot.failStart(slot.failureInfo(failureIn(started, "starting the mod")));
    slot.instance.set(started.value.id);
    slot.shape = started.value.shape;
    const snapshot = await backend.exportState(started.value.id);
    if (snapshot.kind !== "ok") {
      await slot.instance.drop();
      return slot.failStart(slot.errorInfo(snapshot.kind === "failed" ? snapshot.error.code : "E_INTERNAL", snapshot.kind === "failed" ? snapshot.error.message : `exporting the first state: ${snapshot.kind}`));
    }
    try {
      await this.#journal.first(snapshot.value, slot.version);
    } catch (err) {
      await slot.instance.drop();
      return slot.failStart(slot.info("E_PERSIST_FAILED", `the first checkpoint could not be written: ${(err as Error).message}`));
    }
    return undefined;
  }

  /** Marks the mod faulted because its stored state cannot be brought back. */
  failResume(error: ErrorInfo): ErrorInfo {
    this.#settled = true;
    return this.#slot.failStart(error);
  }

  /**
   * Brings a mod back from its stateDir: the checkpoint, the journal after it (replayed through
   * the versions that ran it), the live version and its history, its quarantine.
   */
  async resume(input: ResumeInput): Promise<ErrorInfo | undefined> {
    try {
      return await this.#resume(input);
    } finally {
      this.#settled = true;
    }
  }

  async #resume(input: ResumeInput): Promise<ErrorInfo | undefined> {
    const slot = this.#slot;
    this.#reset();
    const { recovered, versions } = input;
    const lookup = (hash: string): ModVersion => {
      const version = versions.get(hash);
      if (version === undefined) throw new Error(`version ${hash} is missing`);
      return version;
    };
    try {
      const checkpoint = { snapshot: recovered.checkpoint.snapshot, version: lookup(recovered.checkpoint.version) };
      let live = checkpoint.version;
      const entries = recovered.entries.map((entry): JournalEntry => {
        if (entry.kind === "event") return entry.event;
        live = lookup(entry.version);
        return entry.kind === "activate" ? { kind: "activate", version: live } : { kind: "migrate", version: live, fromVersion: entry.fromVersion, now: entry.now };
      });
      this.#journal.resumeFrom(checkpoint, entries);
      slot.version = live;
      const history = recovered.meta?.live === live.hash ? recovered.meta.history : [];
      slot.previous = history.flatMap((hash) => (versions.has(hash) ? [lookup(hash)] : []));
    } catch (err) {
      return slot.failStart(slot.info("E_STATE_CORRUPT", `the stateDir does not hold everything this mod's state needs: ${(err as Error).message}`));
    }
    if (recovered.meta?.quarantined) {
      slot.status = "quarantined";
      slot.lastError = slot.info("E_QUARANTINED", `mod ${slot.name} was quarantined before the restart; load a new version to release it`);
      slot.shape = { events: [] };
      return undefined;
    }
    if (!(await this.#recovery.ensureInstance("resume"))) return slot.lastError ?? slot.info("E_MOD_FAULTED", "the mod could not be restored");
    // meta.json gets the live version, the history and the journal's high-water mark as recovered.
    await this.#journal.writeMeta().catch((err: unknown) => this.#journal.persistFault("the mod's meta", err));
    return undefined;
  }

  /** Forgets an earlier failed start (the operator accepted a state loss and the mod starts again). */
  #reset(): void {
    this.#slot.status = "running";
    this.#slot.lastError = undefined;
    this.#slot.consecutiveFaults = 0;
    this.#journal.reset();
  }

  /** Queues an event; resolves with this mod's result once it has run (or failed). */
  enqueue(event: WireEvent): Promise<EmitResult> {
    return this.#queue.enqueue(event);
  }

  /**
   * Queues an event whose result goes to `sink` as `(result, index)` once it has run (or failed);
   * the way emit() and emitMany() fan one call out to every mod with one promise.
   */
  deliver(event: WireEvent, sink: ResultSink, index: number): void {
    this.#queue.deliver(event, sink, index);
  }

  /** Runs `fn` in queue order: after every event queued before it, before any queued after. */
  task<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.task(fn);
  }

  /** A copy of the state, in queue order. */
  state(): Promise<unknown> {
    return this.task(async () => {
      const snapshot = await this.#recovery.snapshot();
      return JSON.parse(snapshot.state) as unknown;
    });
  }

  /** Heap figures of the live instance. */
  async heap(): Promise<{ usedBytes: number; limitBytes: number } | undefined> {
    const id = this.#slot.instance.id;
    return id === undefined ? undefined : this.#slot.ctx.backend.heap(id);
  }

  /** Is this event being dispatched now? Capabilities are answered only inside events in flight. */
  inFlight(seq: number): boolean {
    return this.#runner.inFlight(seq);
  }

  /** Records a live capability answer for an event of the dispatch in flight. */
  recordCapability(seq: number, record: CapabilityRecord): void {
    this.#runner.recordCapability(seq, record);
  }

  /** Holds a version until the operator approves it; the live version keeps serving. */
  holdForApproval(version: ModVersion, plan: SwapPlan): void {
    this.#slot.pendingApproval = { version, plan };
  }

  /** Forgets a held version (a newer reload superseded it). */
  clearPendingApproval(): void {
    this.#slot.pendingApproval = undefined;
  }

  /** The swap transaction: stage `next`, then commit it at a barrier in the queue (see SwapTransaction). */
  swap(next: ModVersion, plan: SwapPlan): Promise<SwapReport> {
    return this.#swap.swap(next, plan);
  }

  /** Stops the instance after everything queued so far; later events get E_HOST_CLOSED. */
  close(): Promise<void> {
    this.#storage.disarm();
    return this.task(async () => {
      this.#storage.clear();
      this.#slot.status = "faulted";
      this.#slot.lastError = { code: "E_HOST_CLOSED", message: "the mod was unloaded", mod: this.name };
      await this.#slot.instance.drop();
    });
  }
}

import { randomInt } from "node:crypto";
import { nextTurn, turnOverdue } from "./event-loop-turn.js";
import { performance } from "node:perf_hooks";
import { mapStackTrace } from "../compile/source-position.js";
import { ERROR_CODES, type ErrorCode } from "../errors/error-codes.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import type { CapabilityRecord, StateSnapshot, StopReason, WireEvent, WireResult } from "../model/wire.js";
import { Probation, type ProbationPolicy } from "../swap/probation.js";
import type { DurableEntry } from "../persist/durable-entry.js";
import type { ModStore, RecoveredMod } from "../persist/mod-store.js";
import type { StoredVersion, VersionStore } from "../persist/version-store.js";
import type { HostMetrics } from "./host-metrics.js";
import type { ModVersion } from "../compile/mod-version.js";
import type { EmitResult, FaultEvent, ModStatus } from "../model/mod-events.js";
import type { SwapPlan } from "../model/swap-plan.js";
import { buildReport, type SwapChange, type SwapPhases, type SwapReport } from "../model/swap-report.js";

/** What a slot needs from its host. */
export interface SlotContext {
  readonly backend: SandboxBackend;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
  readonly quarantineAfter: number;
  /** Automatic rollback policy; undefined turns probation off. */
  readonly probation: ProbationPolicy | undefined;
  readonly historySize: number;
  readonly metrics: HostMetrics;
  /** Where the slot makes its state durable; undefined keeps it in memory only. */
  readonly persistence: SlotPersistence | undefined;
  fault(fault: FaultEvent): void;
  /** Journal storage stopped working for this mod, or works again (the host logs it and emits "recovery"). */
  storage(mod: string, ok: boolean, message: string): void;
  /** The set of versions this slot names changed (history moved on): stored versions may be prunable. */
  versionsChanged(): void;
  /** A version failed probation: the host rolls it back (through its own queue of reloads). */
  probationFailed(slot: ModSlot, reason: string): void;
}

/** A slot's durable storage: its own store, and the shared store of versions. */
export interface SlotPersistence {
  readonly store: ModStore;
  readonly versions: VersionStore;
}

/** A mod's state as recovered from disk, with its versions compiled again. */
export interface ResumeInput {
  readonly recovered: RecoveredMod;
  /** Every version the checkpoint, the journal and the history name, by hash. */
  readonly versions: ReadonlyMap<string, ModVersion>;
}

/** An event waiting in (or going through) a mod's queue. */
interface QueuedEvent {
  readonly kind: "event";
  readonly event: WireEvent;
  /** Capability answers given so far; served again if the event has to be run again. */
  readonly caps: CapabilityRecord[];
  readonly resolve: (result: EmitResult) => void;
  /** performance.now() when it was queued, for the latency histogram. */
  readonly queuedAt: number;
}

interface QueuedTask {
  readonly kind: "task";
  readonly run: () => Promise<void>;
}

type QueueItem = QueuedEvent | QueuedTask;

/** A swap's phase timings as it fills them in, and the two ways it ends (built once in swap()). */
type MutablePhases = { -readonly [K in keyof SwapPhases]: SwapPhases[K] };
type ReportSwap = (fields: { ok: boolean; kind: SwapReport["kind"]; to: ModVersion; pauseMs: number; error?: ErrorInfo }) => SwapReport;
type RejectSwap = (error: ErrorInfo, pauseMs?: number) => SwapReport;

/**
 * What happened to the state since the last checkpoint, in order: events (with the capability
 * answers they got) and code handovers to a new version, so that a replay runs each event with
 * the code that ran it the first time.
 */
type JournalEntry =
  | { readonly kind: "event"; readonly event: WireEvent }
  | { readonly kind: "activate"; readonly version: ModVersion }
  | { readonly kind: "migrate"; readonly version: ModVersion; readonly fromVersion: string; readonly now: number };

interface Checkpoint {
  readonly snapshot: StateSnapshot;
  /** The version live when it was taken: a restore starts that version. */
  readonly version: ModVersion;
}

const MAX_BATCH = 1000;
/** After a failed journal write: first retry after this long, doubling up to STORAGE_RETRY_MAX_MS. */
const STORAGE_RETRY_MS = 100;
const STORAGE_RETRY_MAX_MS = 5000;
/** Code handovers journaled since the checkpoint before one is forced (bounds the versions a restore needs). */
const MAX_TRANSITIONS = 8;
/** A periodic checkpoint waits at least this many times its own last cost since the previous one. */
const CHECKPOINT_COST_FACTOR = 20;

/**
 * One loaded mod: its live version and history, its instance in the sandbox, its checkpoint and
 * journal, and the queue that orders everything that touches it (events, state reads, swaps).
 *
 * Recovery: the state lives in the isolate, so after anything that loses or taints it (a timeout
 * cut a handler short, the memory limit disposed the isolate, the sandbox process died, a failed
 * migrate) the slot starts a new instance from the last checkpoint and replays the journal,
 * serving capability answers from the records. Events lost with the old instance run again; a
 * culprit event gets an error instead (or, for a crash, another try until quarantine).
 */
export class ModSlot {
  readonly name: string;
  #version: ModVersion;
  /** Earlier versions, oldest first (at most historySize - 1). */
  #previous: ModVersion[] = [];
  #pendingApproval: { version: ModVersion; plan: SwapPlan } | undefined;
  #status: ModStatus = "running";
  #shape: { readonly events: readonly string[] } | undefined;
  #instance: string | undefined;
  #instanceGeneration = -1;
  #checkpoint: Checkpoint | undefined;
  #checkpointAt = performance.now();
  /** How long the last periodic checkpoint's export took (ms), to keep checkpoints to ~5 % of time. */
  #lastCheckpointMs = 0;
  #journal: JournalEntry[] = [];
  #journaledEvents = 0;
  #queue: QueueItem[] = [];
  #pumping = false;
  #consecutiveFaults = 0;
  /** How many upcoming events run one at a time, to find the culprit of a lost batch. */
  #singleStep = 0;
  #lastError: ErrorInfo | undefined;
  #probation: Probation | undefined;
  readonly #ctx: SlotContext;
  /** Events of the dispatch in flight, by seq, for recording capability answers. */
  readonly #inFlight = new Map<number, QueuedEvent>();
  /** Set while journal writes fail: events are refused (E_PERSIST_FAILED) until a retry succeeds. */
  #storageFault: { message: string; delayMs: number; retryAt: number; timer: ReturnType<typeof setTimeout> | undefined } | undefined;

  constructor(version: ModVersion, ctx: SlotContext) {
    this.name = version.manifest.name;
    this.#version = version;
    this.#ctx = ctx;
  }

  get version(): ModVersion {
    return this.#version;
  }
  get status(): ModStatus {
    return this.#pendingApproval !== undefined && this.#status === "running" ? "pending-approval" : this.#status;
  }
  get lastError(): ErrorInfo | undefined {
    return this.#lastError;
  }
  /** Versions that rollback() can return to, newest last. */
  get previousVersions(): readonly ModVersion[] {
    return this.#previous;
  }
  /** The version waiting for the operator's approval, if any. */
  get pendingApproval(): { version: ModVersion; plan: SwapPlan } | undefined {
    return this.#pendingApproval;
  }

  /** Every version hash this slot still needs: live, history, pending approval, checkpoint, journal. */
  referencedVersions(): Set<string> {
    const out = new Set<string>([this.#version.hash, ...this.#previous.map((v) => v.hash)]);
    if (this.#pendingApproval !== undefined) out.add(this.#pendingApproval.version.hash);
    if (this.#checkpoint !== undefined) out.add(this.#checkpoint.version.hash);
    for (const entry of this.#journal) if (entry.kind !== "event") out.add(entry.version.hash);
    return out;
  }

  /** Does this mod handle `event`? (A quarantined mod still answers, with an error.) */
  handles(event: string): boolean {
    return this.#shape?.events.includes(event) ?? false;
  }

  /** Starts the first instance with init() and takes the first checkpoint. */
  async start(): Promise<ErrorInfo | undefined> {
    this.#reset();
    const backend = this.#ctx.backend;
    const seed = randomSeed();
    const now = Date.now();
    let started = await backend.start(this.#version.spec, seed, { kind: "init", now });
    // Another mod crashed the sandbox while this one was starting: start again (it was not at fault).
    for (let attempt = 0; !started.ok && started.stop === "lost" && attempt < 3; attempt++) {
      started = await backend.start(this.#version.spec, seed, { kind: "init", now });
    }
    if (!started.ok) return this.#failStart(this.#errorInfo(started.error.code, started.error.message, started.error.stack));
    this.#setInstance(started.id);
    this.#shape = started.shape;
    const snapshot = await backend.exportState(started.id);
    if (snapshot.kind !== "ok") {
      await this.#dropInstance();
      return this.#failStart(
        this.#errorInfo(snapshot.kind === "failed" ? snapshot.error.code : "E_INTERNAL", snapshot.kind === "failed" ? snapshot.error.message : `exporting the first state: ${snapshot.kind}`),
      );
    }
    this.#checkpoint = { snapshot: snapshot.value, version: this.#version };
    const persistence = this.#ctx.persistence;
    if (persistence !== undefined) {
      try {
        await persistence.versions.write(storedVersion(this.#version));
        await persistence.store.checkpoint(snapshot.value, this.#version.hash);
        await this.#writeMeta();
        persistence.versions.release(this.#version.hash);
      } catch (err) {
        await this.#dropInstance();
        return this.#failStart(this.#info("E_PERSIST_FAILED", `the first checkpoint could not be written: ${(err as Error).message}`));
      }
    }
    return undefined;
  }

  /** Marks the mod faulted because its stored state cannot be brought back. */
  failResume(error: ErrorInfo): ErrorInfo {
    return this.#failStart(error);
  }

  /**
   * Brings a mod back from its stateDir: the checkpoint, the journal after it (replayed through
   * the versions that ran it), the live version and its history, its quarantine.
   */
  async resume(input: ResumeInput): Promise<ErrorInfo | undefined> {
    this.#reset();
    const { recovered, versions } = input;
    const lookup = (hash: string): ModVersion => {
      const version = versions.get(hash);
      if (version === undefined) throw new Error(`version ${hash} is missing`);
      return version;
    };
    try {
      this.#checkpoint = { snapshot: recovered.checkpoint.snapshot, version: lookup(recovered.checkpoint.version) };
      let live = this.#checkpoint.version;
      this.#journal = recovered.entries.map((entry): JournalEntry => {
        if (entry.kind === "event") return entry;
        live = lookup(entry.version);
        return entry.kind === "activate" ? { kind: "activate", version: live } : { kind: "migrate", version: live, fromVersion: entry.fromVersion, now: entry.now };
      });
      this.#journaledEvents = this.#journal.filter((entry) => entry.kind === "event").length;
      this.#version = live;
      const history = recovered.meta?.live === live.hash ? recovered.meta.history : [];
      this.#previous = history.flatMap((hash) => (versions.has(hash) ? [lookup(hash)] : []));
    } catch (err) {
      return this.#failStart(this.#info("E_STATE_CORRUPT", `the stateDir does not hold everything this mod's state needs: ${(err as Error).message}`));
    }
    if (recovered.meta?.quarantined) {
      this.#status = "quarantined";
      this.#lastError = this.#info("E_QUARANTINED", `mod ${this.name} was quarantined before the restart; load a new version to release it`);
      this.#shape = { events: [] };
      return undefined;
    }
    if (!(await this.#ensureInstance())) return this.#lastError ?? this.#info("E_MOD_FAULTED", "the mod could not be restored");
    // meta.json gets the live version, the history and the journal's high-water mark as recovered.
    await this.#writeMeta().catch((err: unknown) => this.#persistFault("the mod's meta", err));
    return undefined;
  }

  /** Forgets an earlier failed start (the operator accepted a state loss and the mod starts again). */
  #reset(): void {
    this.#status = "running";
    this.#lastError = undefined;
    this.#consecutiveFaults = 0;
    this.#journal = [];
    this.#journaledEvents = 0;
    this.#checkpoint = undefined;
  }

  /** Queues an event; resolves with this mod's result once it has run (or failed). */
  enqueue(event: WireEvent): Promise<EmitResult> {
    return new Promise((resolve) => {
      this.#queue.push({ kind: "event", event, caps: [], resolve, queuedAt: performance.now() });
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

  /** Is this event being dispatched now? Capabilities are answered only inside events in flight. */
  inFlight(seq: number): boolean {
    return this.#inFlight.has(seq);
  }

  /** Records a live capability answer for an event of the dispatch in flight. */
  recordCapability(seq: number, record: CapabilityRecord): void {
    this.#inFlight.get(seq)?.caps.push(record);
  }

  /** Holds a version until the operator approves it; the live version keeps serving. */
  holdForApproval(version: ModVersion, plan: SwapPlan): void {
    this.#pendingApproval = { version, plan };
  }

  /** Forgets a held version (a newer reload superseded it). */
  clearPendingApproval(): void {
    this.#pendingApproval = undefined;
  }

  /**
   * The swap transaction. The new version's code is staged in the live isolate while the old
   * version keeps serving; then, at a barrier in the queue, it goes live with the state handed
   * over (or migrated in place). Any failure leaves the old version live with its state exactly as
   * it was (restored from the checkpoint and journal if a failed migrate touched it).
   */
  async swap(next: ModVersion, plan: SwapPlan): Promise<SwapReport> {
    const from = this.#version;
    const phases: { -readonly [K in keyof SwapPhases]: SwapPhases[K] } = { ...plan.phases };
    const report = (fields: { ok: boolean; kind: SwapReport["kind"]; to: ModVersion; pauseMs: number; error?: ErrorInfo }): SwapReport => {
      const error = fields.error ?? (fields.ok ? plan.reason : undefined);
      return buildReport({
        ok: fields.ok,
        mod: this.name,
        kind: fields.kind,
        from: from.manifest.version,
        to: fields.to.manifest.version,
        startedAt: plan.startedAt,
        pauseMs: fields.pauseMs,
        phases,
        changes: plan.changes,
        ...(error !== undefined ? { error } : {}),
      });
    };
    const rejected = (error: ErrorInfo, pauseMs = 0): SwapReport => report({ ok: false, kind: "rejected", to: from, pauseMs, error });

    if (this.#status === "faulted" && this.#lastError?.code === "E_STATE_CORRUPT") {
      // Its saved state is damaged: a new version must not start over it (that would overwrite it).
      return rejected({ ...this.#lastError, message: `the saved state is damaged; accept the loss first (host.acceptStateLoss("${this.name}")), then reload. ${this.#lastError.message}` });
    }
    const persistence = this.#ctx.persistence;
    if (persistence !== undefined) {
      try {
        await persistence.versions.write(storedVersion(next));
      } catch (err) {
        return rejected(this.#info("E_PERSIST_FAILED", `the new version could not be stored: ${(err as Error).message}`));
      }
    }
    try {
      if (this.#status === "quarantined" || this.#status === "faulted") {
        // A faulted or quarantined mod gets a fresh start with the new version, from its last good state.
        return await this.task(async () => this.#replaceFaulted(next, plan, phases, report, rejected));
      }
      // Stage: in queue order, but events keep flowing around it.
      return await this.#swapStored(next, plan, from, phases, report, rejected);
    } finally {
      // Until now the stored version was pinned against pruning; from here the slot names it (or not).
      persistence?.versions.release(next.hash);
    }
  }

  async #swapStored(
    next: ModVersion,
    plan: SwapPlan,
    from: ModVersion,
    phases: MutablePhases,
    report: ReportSwap,
    rejected: RejectSwap,
  ): Promise<SwapReport> {
    const stageStart = performance.now();
    // A fresh isolate when the memory limit changes or this one is nearly full (old versions'
    // compiled code is collected with their modules; a fresh isolate costs a full state copy at
    // the barrier, so it is not used without a reason).
    const heap = await this.heap();
    const fresh = next.spec.memoryMb !== from.spec.memoryMb || (heap !== undefined && heap.usedBytes > 0.8 * heap.limitBytes);
    const staged = fresh ? await this.#stageFresh(next) : await this.task(() => this.#stage(next));
    phases.stage = performance.now() - stageStart;
    if (!staged.ok) return rejected(staged.error);

    // Commit: a barrier in the queue.
    return this.task(async () => {
      const barrier = performance.now();
      const outcome = "fresh" in staged ? await this.#commitFresh(next, plan, staged.fresh) : await this.#commitStaged(next, plan, staged);
      phases.commit = performance.now() - barrier;
      const pauseMs = performance.now() - barrier;
      if (!outcome.ok) return rejected(outcome.error, pauseMs);
      this.#adopt(next, from, plan.kind, outcome.events);
      const done = report({ ok: true, kind: plan.kind, to: next, pauseMs });
      // Many handovers in a row (a reload loop) get a checkpoint, so old versions can be pruned.
      if (this.#journal.length - this.#journaledEvents >= MAX_TRANSITIONS) await this.#maybeCheckpoint();
      return done;
    });
  }

  /** Stops the instance after everything queued so far; later events get E_HOST_CLOSED. */
  close(): Promise<void> {
    if (this.#storageFault?.timer !== undefined) clearTimeout(this.#storageFault.timer);
    return this.task(async () => {
      if (this.#storageFault?.timer !== undefined) clearTimeout(this.#storageFault.timer);
      this.#storageFault = undefined;
      this.#status = "faulted";
      this.#lastError = { code: "E_HOST_CLOSED", message: "the mod was unloaded", mod: this.name };
      await this.#dropInstance();
    });
  }

  // ---------------------------------------------------------------- swap internals

  async #stage(next: ModVersion): Promise<{ ok: true; instance: string; events: readonly string[] } | { ok: false; error: ErrorInfo }> {
    if (!(await this.#ensureInstance())) return { ok: false, error: this.#lastError ?? this.#info("E_MOD_FAULTED", "the mod is not running") };
    const id = this.#instance as string;
    const staged = await this.#ctx.backend.stage(id, next.spec);
    if (staged.ok) return { ok: true, instance: id, events: staged.shape.events };
    // A failed stage ran the new version's top-level code in the live isolate: start clean.
    await this.#dropInstance();
    return { ok: false, error: this.#errorInfo(staged.error.code === "E_INTERNAL" ? "E_STAGE_FAILED" : staged.error.code, staged.error.message, staged.error.stack, next) };
  }

  async #commitStaged(next: ModVersion, plan: SwapPlan, staged: { instance: string; events: readonly string[] }): Promise<{ ok: true; events: readonly string[] } | { ok: false; error: ErrorInfo }> {
    const backend = this.#ctx.backend;
    let events = staged.events;
    if (this.#instance !== staged.instance || this.#instanceGeneration !== backend.generation) {
      // The instance was replaced between stage and commit (a restore): stage again, inside the barrier.
      const again = await this.#stage(next);
      if (!again.ok) return again;
      events = again.events;
    }
    const id = this.#instance as string;
    if (plan.migrate) {
      const migrateNow = Date.now();
      const out = await backend.commit(id, { kind: "migrate", fromVersion: this.#version.manifest.version, now: migrateNow });
      if (out.kind !== "ok" || out.value === null) {
        await this.#dropInstance(); // migrate may have changed the live state: restore it
        return { ok: false, error: this.#migrationError(out, next) };
      }
      this.#persistTransition({ kind: "migrate", version: next.hash, fromVersion: this.#version.manifest.version, now: migrateNow }, out.value, next);
      return { ok: true, events };
    }
    const out = await backend.commit(id, { kind: "handover" });
    if (out.kind !== "ok") {
      await this.#dropInstance();
      return { ok: false, error: this.#info("E_STAGE_FAILED", `activating the new version failed: ${out.kind === "failed" ? out.error.message : out.kind}`) };
    }
    this.#journal.push({ kind: "activate", version: next });
    // Not awaited: events after it are appended after it, so none is durable before it is.
    this.#persistEntries([{ kind: "activate", version: next.hash }]);
    return { ok: true, events };
  }

  /**
   * Stages a version in a new isolate, off the queue: the isolate is created and the code loaded
   * while the live version serves; only the state moves at the barrier.
   */
  async #stageFresh(next: ModVersion): Promise<{ ok: true; fresh: { id: string; generation: number; events: readonly string[] } } | { ok: false; error: ErrorInfo }> {
    const backend = this.#ctx.backend;
    const started = await backend.start(next.spec, [0, 0, 0, 1], { kind: "empty" });
    if (!started.ok) return { ok: false, error: this.#errorInfo(started.error.code === "E_INTERNAL" ? "E_STAGE_FAILED" : started.error.code, started.error.message, started.error.stack, next) };
    return { ok: true, fresh: { id: started.id, generation: backend.generation, events: started.shape.events } };
  }

  /** The barrier of a fresh-isolate swap: export the live state, import or migrate it there, switch. */
  async #commitFresh(next: ModVersion, plan: SwapPlan, staged: { id: string; generation: number; events: readonly string[] }): Promise<{ ok: true; events: readonly string[] } | { ok: false; error: ErrorInfo }> {
    const backend = this.#ctx.backend;
    let target = staged;
    if (target.generation !== backend.generation) {
      // The sandbox process was restarted since: warm it up again, inside the barrier.
      const again = await this.#stageFresh(next);
      if (!again.ok) return again;
      target = again.fresh;
    }
    let snapshot: StateSnapshot;
    try {
      snapshot = await this.#snapshot();
    } catch (err) {
      await backend.stop(target.id);
      return { ok: false, error: this.#info("E_STAGE_FAILED", `reading the state for the swap failed: ${(err as Error).message}`) };
    }
    const now = Date.now();
    const fromVersion = this.#version.manifest.version;
    const init = plan.migrate ? { kind: "migrate" as const, snapshot, fromVersion, now } : { kind: "import" as const, snapshot };
    const adopted = await backend.adopt(target.id, init);
    if (adopted.kind !== "ok") {
      await backend.stop(target.id);
      // migrate() ran on a copy in the new isolate: the live version and its state are untouched.
      return { ok: false, error: plan.migrate ? this.#migrationError(adopted, next) : this.#info("E_STAGE_FAILED", `moving the state to the new isolate failed: ${adopted.kind === "failed" ? adopted.error.message : adopted.kind}`) };
    }
    const from = this.#version;
    await this.#dropInstance();
    this.#instance = target.id;
    this.#instanceGeneration = target.generation;
    // The state at the barrier becomes the checkpoint; the transition is its journal's first entry.
    const entry: JournalEntry = plan.migrate ? { kind: "migrate", version: next, fromVersion, now } : { kind: "activate", version: next };
    this.#setCheckpoint(snapshot, from);
    this.#journal.push(entry);
    this.#persistEntries([plan.migrate ? { kind: "migrate", version: next.hash, fromVersion, now } : { kind: "activate", version: next.hash }]);
    return { ok: true, events: target.events };
  }

  async #replaceFaulted(
    next: ModVersion,
    plan: SwapPlan,
    phases: MutablePhases,
    report: ReportSwap,
    rejected: RejectSwap,
  ): Promise<SwapReport> {
    const from = this.#version;
    const barrier = performance.now();
    const checkpoint = this.#checkpoint;
    const backend = this.#ctx.backend;
    await this.#dropInstance();
    // Without a checkpoint the mod never ran: start it fresh with init().
    const init = checkpoint === undefined ? { kind: "init" as const, now: Date.now() } : plan.migrate ? { kind: "migrate" as const, snapshot: checkpoint.snapshot, fromVersion: checkpoint.version.manifest.version, now: Date.now() } : { kind: "import" as const, snapshot: checkpoint.snapshot };
    const started = await backend.start(next.spec, checkpoint?.snapshot.rng ?? randomSeed(), init);
    phases.stage = performance.now() - barrier;
    if (!started.ok) return rejected(this.#errorInfo(started.error.code, started.error.message, started.error.stack, next), performance.now() - barrier);
    this.#setInstance(started.id);
    this.#shape = started.shape;
    // Replaying the old journal through new code would not be honest: the new version starts
    // from the last checkpoint (events journaled since were already answered by the old one).
    const exported = await backend.exportState(started.id);
    if (exported.kind !== "ok") {
      await this.#dropInstance();
      return rejected(this.#info("E_STAGE_FAILED", "the new version's state could not be read"), performance.now() - barrier);
    }
    this.#setCheckpoint(exported.value, next);
    this.#status = "running";
    this.#lastError = undefined;
    this.#consecutiveFaults = 0;
    phases.commit = performance.now() - barrier;
    this.#adopt(next, from, plan.kind, started.shape.events);
    return report({ ok: true, kind: plan.kind, to: next, pauseMs: performance.now() - barrier });
  }

  /** Bookkeeping once a version is live: history, shape, probation. */
  #adopt(next: ModVersion, from: ModVersion, kind: "swap" | "rollback", events: readonly string[]): void {
    if (kind === "rollback") {
      this.#previous.pop();
      this.#probation = undefined;
    } else {
      this.#previous.push(from);
      if (this.#previous.length > this.#ctx.historySize - 1) this.#previous.shift();
      this.#probation = this.#ctx.probation ? new Probation(this.#ctx.probation) : undefined;
    }
    if (this.#pendingApproval?.version === next) this.#pendingApproval = undefined;
    this.#version = next;
    this.#shape = { events };
    void this.#writeMeta()
      .then(() => this.#ctx.versionsChanged())
      .catch((err: unknown) => this.#persistFault("the mod's meta", err));
  }

  #migrationError(out: { kind: string; error?: { code: string; message: string; stack?: string } }, next: ModVersion): ErrorInfo {
    if (out.kind === "failed" && out.error) {
      const code = out.error.code === "E_MIGRATION_REQUIRED" ? "E_MIGRATION_REQUIRED" : "E_MIGRATION_FAILED";
      return this.#errorInfo(code, `migrate() failed: ${out.error.message}`, out.error.stack, next);
    }
    const what = out.kind === "timeout" ? `ran past the ${next.spec.callTimeoutMs * 10} ms migration time limit` : out.kind === "memory" ? `ran past the ${next.spec.memoryMb} MB memory limit` : `was interrupted (${out.kind})`;
    return this.#info("E_MIGRATION_FAILED", `migrate() ${what}; the old version and its state were kept`);
  }

  // ---------------------------------------------------------------- the queue

  #schedule(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    if (turnOverdue()) setImmediate(() => void this.#pump());
    else queueMicrotask(() => void this.#pump());
  }

  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        if (turnOverdue()) await nextTurn(); // let timers, I/O and reloads run (see TURN_SLICE_MS)
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
      for (const item of batch) this.#finish(item, { ok: false, error: { code, message: this.#lastError?.message ?? `mod ${this.name} is ${this.#status}` } });
      return;
    }
    if (this.#storageFault !== undefined && !(await this.#retryStorage())) {
      const message = `the journal cannot be written (${this.#storageFault.message}); the event was not run. The mod resumes by itself once storage works again`;
      for (const item of batch) this.#finish(item, { ok: false, error: { code: "E_PERSIST_FAILED", message } });
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
    const ran: [QueuedEvent, WireResult][] = [];
    for (let i = 0; i < results.length; i++) ran.push([batch[i] as QueuedEvent, results[i] as WireResult]);
    await this.#journalAndAnswer(ran);
    if (this.#singleStep > 0 && results.length > 0) this.#singleStep = Math.max(0, this.#singleStep - results.length);
    if (stop === undefined && results.some((r) => r.ok)) this.#consecutiveFaults = 0;
    if (outcome.late !== undefined && outcome.late > 0) {
      // The events ran; what they left behind was cut off. The state holds whatever it did.
      this.#countFault("E_TIMEOUT", "work a handler left behind (promise callbacks) ran past the time limit after the handler returned, and was stopped", undefined);
    }
    if (stop === undefined) {
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
        if (rest.length > 1) this.#singleStep = rest.length;
        // Crashes are retried: the events run again after recovery, unless this mod is now quarantined.
        this.#countFault("E_SANDBOX_CRASHED", `the sandbox process died while ${rest.length > 1 ? "a batch of" : `on.${culprit?.event.name}()`} ${rest.length > 1 ? "events was" : "was"} running`, rest.length === 1 ? culprit?.event.name : undefined);
        return;
      case "lost":
      case "disposed":
        return; // another mod's crash, or the instance went away: run them again after recovery
    }
  }

  /** Fails the culprit event with `code` and counts the fault towards quarantine. */
  #fail(item: QueuedEvent, code: ErrorCode, message: string): void {
    this.#finish(item, { ok: false, error: { code, message } });
    this.#countFault(code, message, item.event.name);
  }

  #countFault(code: ErrorCode, message: string, event: string | undefined): void {
    this.#consecutiveFaults++;
    const quarantined = this.#consecutiveFaults >= this.#ctx.quarantineAfter;
    if (quarantined) {
      this.#status = "quarantined";
      this.#lastError = this.#info("E_QUARANTINED", `mod ${this.name} was quarantined after ${this.#consecutiveFaults} faults in a row; last: ${message}`);
      void this.#writeMeta().catch((err: unknown) => this.#persistFault("the mod's meta", err));
    }
    this.#ctx.fault({ mod: this.name, version: this.#version.manifest.version, code, message, ...(event !== undefined ? { event } : {}), quarantined });
  }

  /**
   * Journals events that ran (durably, as the durability setting says) and then answers their
   * callers: a result is never returned for an event that a crash could still lose.
   */
  async #journalAndAnswer(ran: readonly [QueuedEvent, WireResult][]): Promise<void> {
    if (ran.length === 0) return;
    const entries: DurableEntry[] = [];
    // The events that ran are the head of the queue, in order: drop them in one splice.
    if (this.#queue[0] === ran[0]?.[0] && this.#queue[ran.length - 1] === ran[ran.length - 1]?.[0]) this.#queue.splice(0, ran.length);
    else for (const [item] of ran) this.#unqueue(item);
    for (const [item] of ran) {
      const entry: JournalEntry = { kind: "event", event: item.caps.length > 0 ? { ...item.event, caps: item.caps } : item.event };
      this.#journal.push(entry);
      entries.push(entry);
    }
    this.#journaledEvents += ran.length;
    const store = this.#ctx.persistence?.store;
    if (store !== undefined) {
      try {
        await store.append(entries, seqOf);
      } catch (err) {
        // Not durable, so not acknowledged and not kept: the instance goes back to the last
        // durable point (the next one is restored from the checkpoint and the journal without
        // these events) and their callers get E_PERSIST_FAILED. Applied and acknowledged agree.
        this.#journal.splice(this.#journal.length - entries.length, entries.length);
        this.#journaledEvents -= ran.length;
        await this.#dropInstance();
        const message = `the journal write failed (${(err as Error).message}); the event's effects were undone`;
        this.#enterStorageFault((err as Error).message);
        for (const [item] of ran) this.#answer(item, { ok: false, error: { code: "E_PERSIST_FAILED", message } });
        return;
      }
    }
    for (const [item, result] of ran) this.#answer(item, result);
  }

  /** Journal writes failed: refuse events until a retry succeeds (on the next event, or by timer). */
  #enterStorageFault(message: string): void {
    if (this.#storageFault !== undefined) {
      this.#storageFault.message = message;
      return;
    }
    this.#storageFault = { message, delayMs: STORAGE_RETRY_MS, retryAt: performance.now() + STORAGE_RETRY_MS, timer: undefined };
    this.#ctx.fault({ mod: this.name, version: this.#version.manifest.version, code: "E_PERSIST_FAILED", message: `journal write failed: ${message}; events answer E_PERSIST_FAILED until storage works again`, quarantined: false });
    this.#ctx.storage(this.name, false, `journal writes fail (${message}): events are refused with E_PERSIST_FAILED; retrying with backoff`);
    this.#armStorageRetry();
  }

  #armStorageRetry(): void {
    const fault = this.#storageFault;
    if (fault === undefined) return;
    if (fault.timer !== undefined) clearTimeout(fault.timer);
    fault.timer = setTimeout(() => {
      fault.timer = undefined;
      if (this.#storageFault === fault) void this.task(async () => void (await this.#retryStorage()));
    }, fault.delayMs);
    fault.timer.unref();
  }

  /**
   * Tries to leave the storage fault: restores the instance to the last durable point and makes it
   * a new checkpoint. True when storage works again. Retries wait with backoff.
   */
  async #retryStorage(): Promise<boolean> {
    const fault = this.#storageFault;
    const store = this.#ctx.persistence?.store;
    if (fault === undefined || store === undefined) return true;
    if (performance.now() < fault.retryAt || this.#lastError?.code === "E_HOST_CLOSED") return false; // too soon, or unloaded
    let ok = false;
    if (await this.#ensureInstance()) {
      const out = await this.#ctx.backend.exportState(this.#instance as string);
      if (out.kind === "ok") {
        try {
          await store.reopen(out.value, this.#version.hash);
          this.#checkpoint = { snapshot: out.value, version: this.#version };
          this.#checkpointAt = performance.now();
          this.#journal = [];
          this.#journaledEvents = 0;
          ok = true;
        } catch (err) {
          fault.message = (err as Error).message;
        }
      } else await this.#dropInstance();
    }
    if (!ok) {
      fault.delayMs = Math.min(STORAGE_RETRY_MAX_MS, fault.delayMs * 2);
      fault.retryAt = performance.now() + fault.delayMs;
      if (this.#status === "running") this.#armStorageRetry();
      return false;
    }
    if (fault.timer !== undefined) clearTimeout(fault.timer);
    this.#storageFault = undefined;
    this.#ctx.storage(this.name, true, "journal writes work again: a new checkpoint was written and events are accepted again");
    void this.#writeMeta().catch((err: unknown) => this.#persistFault("the mod's meta", err));
    return true;
  }

  /** Fails an event that did not run (nothing to journal). */
  #finish(item: QueuedEvent, result: WireResult): void {
    this.#unqueue(item);
    this.#answer(item, result);
  }

  #unqueue(item: QueuedEvent): void {
    const index = this.#queue.indexOf(item);
    if (index >= 0) this.#queue.splice(index, 1);
  }

  #answer(item: QueuedEvent, result: WireResult): void {
    const version = this.#version.manifest.version;
    this.#ctx.metrics.event(this.name, result.ok ? undefined : result.error.code, performance.now() - item.queuedAt);
    if (result.ok) {
      item.resolve(result.value === undefined ? { mod: this.name, version, ok: true } : { mod: this.name, version, ok: true, value: result.value });
    } else {
      item.resolve({ mod: this.name, version, ok: false, error: this.#errorInfo(result.error.code, result.error.message, result.error.stack) });
    }
    // A storage fault says nothing about the version: it does not count towards probation.
    if (this.#probation !== undefined && this.#status === "running" && (result.ok || result.error.code !== "E_PERSIST_FAILED")) {
      const code = result.ok ? undefined : result.error.code;
      // A failure the game caused (a capability that threw or was too slow) says nothing about the new version.
      const gameFault = code !== undefined && ERROR_CODES[code as ErrorCode] === "game";
      const verdict = this.#probation.record(result.ok || gameFault ? "ok" : code === "E_TIMEOUT" || code === "E_MEMORY_LIMIT" || code === "E_SANDBOX_CRASHED" ? "termination" : "error");
      if (verdict !== undefined) this.#ctx.probationFailed(this, `version ${version} ${verdict}`);
    }
  }

  // ---------------------------------------------------------------- recovery

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
      this.#lastError ??= this.#info("E_MOD_FAULTED", `mod ${this.name} could not be restored from its checkpoint`);
      this.#ctx.fault({ mod: this.name, version: this.#version.manifest.version, code: "E_MOD_FAULTED", message: this.#lastError.message, quarantined: false });
    }
    return false;
  }

  /** Starts the checkpoint's version from the checkpoint and replays the journal. */
  async #restore(): Promise<"ok" | "lost" | "failed"> {
    const backend = this.#ctx.backend;
    const checkpoint = this.#checkpoint;
    if (checkpoint === undefined) return "failed";
    const started = await backend.start(checkpoint.version.spec, checkpoint.snapshot.rng, { kind: "import", snapshot: checkpoint.snapshot });
    if (!started.ok) {
      if (started.stop === "lost") return "lost";
      this.#lastError = this.#info("E_MOD_FAULTED", `restoring from the checkpoint failed: ${started.error.message}`);
      return "failed";
    }
    const id = started.id;
    const generation = backend.generation;
    let events_: readonly string[] = started.shape.events;
    const fail = async (why: string, stop: StopReason | undefined): Promise<"lost" | "failed"> => {
      if (stop === "lost") {
        // w17-cpu hook: a replay cut on a starved machine is lost work in a live sandbox: free its instance.
        if (backend.generation === generation) await backend.stop(id);
        return "lost";
      }
      await backend.stop(id);
      this.#lastError = this.#info("E_MOD_FAULTED", `replaying the journal failed: ${why}`);
      return "failed";
    };
    let events: WireEvent[] = [];
    const flush = async (): Promise<StopReason | "short" | undefined> => {
      if (events.length === 0) return undefined;
      const replay = await backend.dispatch(id, events, true);
      const count = events.length;
      events = [];
      if (replay.stop !== undefined) return replay.stop;
      return replay.results.length === count ? undefined : "short";
    };
    for (const entry of this.#journal) {
      if (entry.kind === "event") {
        events.push(entry.event);
        continue;
      }
      const stopped = await flush();
      if (stopped !== undefined) return fail(`events stopped (${stopped})`, stopped === "short" ? undefined : stopped);
      const staged = await backend.stage(id, entry.version.spec);
      if (!staged.ok) return fail(`staging version ${entry.version.manifest.version}: ${staged.error.message}`, staged.stop === "lost" ? "lost" : undefined);
      events_ = staged.shape.events;
      const mode = entry.kind === "activate" ? { kind: "handover" as const } : { kind: "migrate" as const, fromVersion: entry.fromVersion, now: entry.now };
      const activated = await backend.commit(id, mode);
      if (activated.kind !== "ok") return fail(`${entry.kind === "activate" ? "activating" : "migrating to"} version ${entry.version.manifest.version}: ${activated.kind}`, undefined);
    }
    const stopped = await flush();
    if (stopped !== undefined) return fail(`events stopped (${stopped})`, stopped === "short" ? undefined : stopped);
    this.#instance = id;
    this.#instanceGeneration = generation;
    this.#shape = { events: events_ };
    return "ok";
  }

  /** The live state; if the sandbox dies while it is read, restores and reads again. */
  async #snapshot(): Promise<StateSnapshot> {
    for (let attempt = 0; ; attempt++) {
      if (!(await this.#ensureInstance())) {
        if (this.#checkpoint && this.#journaledEvents === 0) return this.#checkpoint.snapshot;
        throw new Error(this.#lastError?.message ?? `mod ${this.name} is not running`);
      }
      const out = await this.#ctx.backend.exportState(this.#instance as string);
      if (out.kind === "ok") return out.value;
      if (out.kind === "failed") throw new Error(out.error.message);
      await this.#dropInstance();
      if (attempt >= 2) throw new Error(`reading the state failed: ${out.kind}`);
    }
  }

  async #maybeCheckpoint(): Promise<void> {
    if (this.#instance === undefined || this.#journal.length === 0 || this.#storageFault !== undefined) return;
    const sinceLast = performance.now() - this.#checkpointAt;
    // Every checkpointEvery events, but never more than ~5 % of the time: a large state's export
    // (10k entities: ~10 ms) must not dominate a busy mod's events. A longer journal only makes a
    // recovery replay more; nothing is lost.
    const transitions = this.#journal.length - this.#journaledEvents;
    const due =
      transitions >= MAX_TRANSITIONS ||
      (this.#journaledEvents >= this.#ctx.checkpointEvery && sinceLast >= CHECKPOINT_COST_FACTOR * this.#lastCheckpointMs) ||
      sinceLast >= this.#ctx.checkpointIntervalMs;
    if (!due) return;
    const started = performance.now();
    const out = await this.#ctx.backend.exportState(this.#instance);
    if (out.kind !== "ok") {
      // Keep the old checkpoint and the journal: nothing is lost, recovery just replays more.
      if (out.kind === "failed") this.#ctx.fault({ mod: this.name, version: this.#version.manifest.version, code: out.error.code, message: `checkpoint failed: ${out.error.message}`, quarantined: false });
      else await this.#dropInstance();
      return;
    }
    this.#setCheckpoint(out.value, this.#version);
    this.#lastCheckpointMs = performance.now() - started;
    this.#ctx.metrics.checkpoint(this.name, this.#lastCheckpointMs, out.value.state.length);
  }

  /** A new checkpoint in memory and (written beside the events) on disk; the journal restarts. */
  #setCheckpoint(snapshot: StateSnapshot, version: ModVersion): void {
    this.#checkpoint = { snapshot, version };
    this.#checkpointAt = performance.now();
    this.#journal = [];
    this.#journaledEvents = 0;
    this.#ctx.persistence?.store.checkpoint(snapshot, version.hash).catch((err: unknown) => this.#persistFault("a checkpoint", err));
  }

  /** A version change that came with a new state: journal the transition, then checkpoint after it. */
  #persistTransition(entry: DurableEntry, snapshot: StateSnapshot, version: ModVersion): void {
    this.#persistEntries([entry]);
    this.#setCheckpoint(snapshot, version);
  }

  #persistEntries(entries: readonly DurableEntry[]): void {
    this.#ctx.persistence?.store.append(entries, seqOf).catch((err: unknown) => this.#persistFault("the journal", err));
  }

  #writeMeta(): Promise<void> {
    const store = this.#ctx.persistence?.store;
    if (store === undefined) return Promise.resolve();
    return store.writeMeta({ live: this.#version.hash, history: this.#previous.map((v) => v.hash), quarantined: this.#status === "quarantined" });
  }

  #persistFault(what: string, err: unknown): void {
    this.#ctx.fault({ mod: this.name, version: this.#version.manifest.version, code: "E_PERSIST_FAILED", message: `writing ${what} failed: ${(err as Error).message}`, quarantined: false });
  }

  #setInstance(id: string): void {
    this.#instance = id;
    this.#instanceGeneration = this.#ctx.backend.generation;
  }

  /** Stops the live instance (if its sandbox still has it) and forgets it. */
  async #dropInstance(): Promise<void> {
    const id = this.#instance;
    this.#instance = undefined;
    if (id !== undefined && this.#instanceGeneration === this.#ctx.backend.generation) await this.#ctx.backend.stop(id);
  }

  #failStart(error: ErrorInfo): ErrorInfo {
    this.#status = "faulted";
    this.#lastError = error;
    return error;
  }

  #info(code: ErrorCode, message: string): ErrorInfo {
    return { code, message, mod: this.name };
  }

  /** An ErrorInfo whose position points at the mod's .ts source when a stack is known. */
  #errorInfo(code: string, message: string, stack?: string, version: ModVersion = this.#version): ErrorInfo {
    const base = { code: code as ErrorCode, message, mod: this.name };
    if (stack === undefined) return base;
    const modules = version.modules;
    const mapped = mapStackTrace(stack, (file) => modules.find((m) => m.path === file));
    if (mapped.top === undefined) return base;
    return { ...base, file: mapped.top.file, line: mapped.top.line, column: mapped.top.column };
  }
}

/** The sequence number a journal record carries (transitions take the last event's). */
function seqOf(entry: DurableEntry): number {
  return entry.kind === "event" ? entry.event.seq : 0;
}

/** What the version store keeps of a version. */
function storedVersion(version: ModVersion): StoredVersion {
  return { hash: version.hash, manifest: version.manifest, files: Object.fromEntries(version.files) };
}

/** Four random 32-bit words: the first seed of a mod's random generator. */
function randomSeed(): number[] {
  return [randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32)];
}

import { performance } from "node:perf_hooks";
import type { ModVersion } from "../compile/mod-version.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { SwapPlan } from "../model/swap-plan.js";
import { buildReport, type SwapChange, type SwapPhases, type SwapReport } from "../model/swap-report.js";
import type { StateSnapshot } from "../model/wire.js";
import type { LocateCall } from "../sandbox/sandbox-backend.js";
import { failed, failureIn, type SandboxFailure, type SandboxOutcome } from "../sandbox/sandbox-outcome.js";
import { Probation } from "../swap/probation.js";
import type { EventQueue } from "./event-queue.js";
import { randomSeed } from "./live-instance.js";
import type { Recovery } from "./recovery.js";
import { MAX_TRANSITIONS, storedVersion, type SlotJournal, type TransitionEntry } from "./slot-journal.js";
import { migrationError } from "./slot-errors.js";
import { describeThrown } from "../util/describe-thrown.js";
import { locatedTimeout, unlocated } from "./timeout-location.js";
import type { SlotState } from "./slot-state.js";

type MutablePhases = { -readonly [K in keyof SwapPhases]: SwapPhases[K] };
/** A refusal; a timeout's `locate` finds where it looped, after the barrier (events are not held for it). */
type Refused = { ok: false; error: ErrorInfo; locate?: () => Promise<ErrorInfo> };
type Staged = { ok: true; instance: string; events: readonly string[] } | Refused;
type FreshStaged = { readonly id: string; readonly generation: number; readonly events: readonly string[] };
/** A handover sent to `instance` whose answer (`done`) is still on its way. */
type Handover = { readonly instance: string; readonly done: Promise<SandboxOutcome<void>> };
/**
 * A commit that went through. A handover's may still be on its way: events behind the barrier
 * follow it to the instance, and the swap's report waits for it after the barrier.
 */
type Committed = { ok: true; events: readonly string[]; handover?: Handover } | Refused;

/** One swap in progress: its plan, its phase timings, and the two ways it ends. */
class SwapRun {
  readonly phases: MutablePhases;
  readonly #slot: SlotState;
  readonly #plan: SwapPlan;
  /** The version live when the swap began. */
  readonly from: ModVersion;
  /** The version the swap attempts: a refusal's report names it as `to`. */
  readonly #next: ModVersion;

  constructor(slot: SlotState, plan: SwapPlan, next: ModVersion) {
    this.#slot = slot;
    this.#plan = plan;
    this.from = slot.version;
    this.#next = next;
    this.phases = { ...plan.phases };
  }

  /** The report of a swap that went through to `to` (a rollback carries its plan's reason). */
  report(fields: { to: ModVersion; pauseMs: number }): SwapReport {
    const reason = this.#plan.reason;
    return buildReport({ ok: true, kind: this.#plan.kind, ...this.#common(fields.to, fields.pauseMs), ...(reason !== undefined ? { error: reason } : {}) });
  }

  rejected(error: ErrorInfo, pauseMs = 0): SwapReport {
    return buildReport({ ok: false, kind: "rejected", ...this.#common(this.#next, pauseMs), error });
  }

  #common(to: ModVersion, pauseMs: number): { mod: string; from: string; to: string; startedAt: number; pauseMs: number; phases: SwapPhases; changes: readonly SwapChange[] } {
    return { mod: this.#slot.name, from: this.from.manifest.version, to: to.manifest.version, startedAt: this.#plan.startedAt, pauseMs, phases: this.phases, changes: this.#plan.changes };
  }
}

/**
 * The swap transaction (a code handover). The new version's code is staged in the live isolate
 * while the old version keeps serving; then, at a barrier in the queue, it goes live with the
 * state handed over (or migrated in place). Any failure up to the barrier leaves the old version
 * live with its state exactly as it was (respawned from the checkpoint and journal if a failed
 * migrate touched it). A handover is journaled at the barrier and the events behind it go out
 * without waiting for its answer: if its isolate or process is lost there, the respawn replays
 * the journal into the new version.
 */
export class SwapTransaction {
  readonly #slot: SlotState;
  readonly #journal: SlotJournal;
  readonly #recovery: Recovery;
  readonly #queue: EventQueue;

  constructor(slot: SlotState, journal: SlotJournal, recovery: Recovery, queue: EventQueue) {
    this.#slot = slot;
    this.#journal = journal;
    this.#recovery = recovery;
    this.#queue = queue;
  }

  async swap(next: ModVersion, plan: SwapPlan): Promise<SwapReport> {
    const slot = this.#slot;
    const run = new SwapRun(slot, plan, next);
    if (slot.status === "faulted" && slot.lastError?.code === "E_STATE_CORRUPT") {
      // Its saved state is damaged: a new version must not start over it (that would overwrite it).
      return run.rejected({ ...slot.lastError, message: `the saved state is damaged; accept the loss first (host.acceptStateLoss("${slot.name}")), then reload. ${slot.lastError.message}` });
    }
    const persistence = slot.ctx.persistence;
    if (persistence !== undefined) {
      try {
        await persistence.versions.write(storedVersion(next));
      } catch (err) {
        return run.rejected(slot.info("E_PERSIST_FAILED", `the new version could not be stored: ${(err as Error).message}`));
      }
    }
    try {
      // A faulted or quarantined mod gets a fresh start with the new version, from its last good state.
      if (slot.stopped) return await this.#queue.task(async () => this.#replaceStopped(next, plan, run));
      // Stage: in queue order, but events keep flowing around it.
      return await this.#swapLive(next, plan, run);
    } finally {
      // Until now the stored version was pinned against pruning; from here the slot names it (or not).
      persistence?.versions.release(next.hash);
    }
  }

  async #swapLive(next: ModVersion, plan: SwapPlan, run: SwapRun): Promise<SwapReport> {
    const slot = this.#slot;
    const from = run.from;
    const stageStart = performance.now();
    // A fresh isolate when the memory limit changes or this one is nearly full (old versions'
    // compiled code is collected with their modules; a fresh isolate costs a full state copy at
    // the barrier, so it is not used without a reason).
    const id = slot.instance.id;
    const heap = id === undefined ? undefined : await slot.ctx.backend.heap(id);
    const fresh = next.spec.memoryMb !== from.spec.memoryMb || (heap !== undefined && heap.usedBytes > 0.8 * heap.limitBytes);
    const staged = fresh ? await this.#stageFresh(next) : await this.#queue.task(() => this.#stage(next));
    run.phases.stage = performance.now() - stageStart;
    if (!staged.ok) return run.rejected(staged.locate ? await staged.locate() : staged.error);

    // Commit: a barrier in the queue.
    let refused: { locate: () => Promise<ErrorInfo>; pauseMs: number } | undefined;
    let handover: Handover | undefined;
    const report = await this.#queue.task(async () => {
      const barrier = performance.now();
      const outcome = "fresh" in staged ? await this.#commitFresh(next, plan, staged.fresh) : await this.#commitStaged(next, plan, staged);
      run.phases.commit = performance.now() - barrier;
      const pauseMs = performance.now() - barrier;
      if (!outcome.ok) {
        if (outcome.locate) refused = { locate: outcome.locate, pauseMs };
        return run.rejected(outcome.error, pauseMs);
      }
      handover = outcome.handover;
      this.#adopt(next, from, plan.kind, outcome.events);
      const done = run.report({ to: next, pauseMs });
      // Many swaps in a row (a reload loop) get a checkpoint, so old versions can be pruned.
      if (this.#journal.transitions >= MAX_TRANSITIONS) await this.#journal.maybeCheckpoint();
      return done;
    });
    if (refused !== undefined) return run.rejected(await refused.locate(), refused.pauseMs);
    if (handover !== undefined) await this.#settleHandover(handover);
    return report;
  }

  /**
   * Waits for a handover sent without holding events. It fails only when its isolate or process
   * is lost (the call cannot fail otherwise: sandbox/mod-instance.ts activate()). The sandbox
   * then drops the instance, so the events sent behind it are answered "disposed" and run again
   * after a respawn, which replays the journal, the handover included: the new version is live
   * either way, as the report says.
   */
  async #settleHandover(handover: Handover): Promise<void> {
    const out = await handover.done;
    if (out.kind === "ok") return;
    const slot = this.#slot;
    // In the queue: a dispatch behind the handover may have respawned the instance already.
    await this.#queue.task(async () => {
      if (slot.instance.is(handover.instance)) await slot.instance.drop();
    });
  }

  /**
   * A refusal for a call into `next` that failed; a timeout also gets a `locate` that runs the call
   * again in a throwaway profiled isolate (slot/timeout-location.ts) to find the line it looped on.
   */
  #refused(next: ModVersion, error: ErrorInfo, timedOut: boolean, call: LocateCall, snapshot?: StateSnapshot): Refused {
    if (!timedOut) return { ok: false, error };
    const slot = this.#slot;
    const locate = async (): Promise<ErrorInfo> => {
      const request = { spec: next.spec, seed: snapshot?.rng ?? [0, 0, 0, 1], now: Date.now(), call, ...(snapshot !== undefined ? { snapshot } : {}) };
      const located = await locatedTimeout(slot.ctx.backend, next, { code: error.code, message: error.message }, request);
      return located.stack === undefined && located.message === error.message ? error : slot.failureInfo(located, next);
    };
    return { ok: false, error, locate };
  }

  async #stage(next: ModVersion): Promise<Staged> {
    const slot = this.#slot;
    if (!(await this.#recovery.ensureInstance())) return { ok: false, error: slot.lastError ?? slot.info("E_MOD_FAULTED", "the mod is not running") };
    const id = slot.instance.id as string;
    const staged = await slot.ctx.backend.stage(id, next.spec);
    if (staged.kind === "ok") return { ok: true, instance: id, events: staged.value.events };
    // A failed stage ran the new version's top-level code in the live isolate: start clean.
    await slot.instance.drop();
    const failure = failureIn(staged, "staging the version");
    return this.#refused(next, stageError(slot, failure, next), failure.code === "E_TIMEOUT", { kind: "load" });
  }

  async #commitStaged(next: ModVersion, plan: SwapPlan, staged: { instance: string; events: readonly string[] }): Promise<Committed> {
    const slot = this.#slot;
    const backend = slot.ctx.backend;
    let events = staged.events;
    if (!slot.instance.is(staged.instance)) {
      // The instance was replaced between stage and commit (a respawn): stage again, inside the barrier.
      const again = await this.#stage(next);
      if (!again.ok) return again;
      events = again.events;
    }
    const id = slot.instance.id as string;
    if (plan.migrate) {
      const now = Date.now();
      const fromVersion = slot.version.manifest.version;
      const out = await backend.commit(id, { kind: "migrate", fromVersion, now });
      if (out.kind !== "ok") {
        await slot.instance.drop(); // migrate may have changed the live state: respawn it
        const error = migrationError(slot.name, out, next);
        if (out.kind !== "timeout") return { ok: false, error };
        // The state migrate() started from is the checkpoint plus the journal: a respawn brings it back.
        let before: StateSnapshot;
        try {
          before = await this.#recovery.snapshot();
        } catch (err) {
          return { ok: false, error: unlocated(error, `reading the state it started from failed: ${describeThrown(err)}`) };
        }
        return this.#refused(next, error, true, { kind: "migrate", fromVersion }, before);
      }
      // Journaled, not checkpointed: a recovery runs migrate() again from the last checkpoint, so the
      // new state's text (a copy out of the isolate, and to the host: 10k entities, 1.3 MB) is not
      // paid for in the pause. The next checkpoint is taken when one is due, as after any event.
      this.#journal.transition({ kind: "migrate", version: next, fromVersion, now });
      return { ok: true, events };
    }
    // Not awaited: the sandbox runs requests in order, so the events behind the barrier reach the
    // new version without waiting for this reply (a round trip to the sandbox process: 0.2 ms,
    // and milliseconds when a GC or the other process holds the machine).
    // A throw or rejection becomes a failed outcome at once: it is awaited only after the barrier.
    const failedWith = (err: unknown): SandboxOutcome<void> => failed("E_INTERNAL", `activating the new version: ${describeThrown(err)}`);
    let done: Promise<SandboxOutcome<void>>;
    try {
      done = backend.commit(id, { kind: "handover" }).catch(failedWith);
    } catch (err) {
      done = Promise.resolve(failedWith(err));
    }
    this.#journal.transition({ kind: "activate", version: next });
    return { ok: true, events, handover: { instance: id, done } };
  }

  /**
   * Stages a version in a new isolate, off the queue: the isolate is created and the code loaded
   * while the live version serves; only the state moves at the barrier.
   */
  async #stageFresh(next: ModVersion): Promise<{ ok: true; fresh: FreshStaged } | Refused> {
    const slot = this.#slot;
    const backend = slot.ctx.backend;
    const started = await backend.start(next.spec, [0, 0, 0, 1], { kind: "empty" });
    if (started.kind !== "ok") {
      const failure = failureIn(started, "starting the mod");
      return this.#refused(next, stageError(slot, failure, next), failure.code === "E_TIMEOUT", { kind: "load" });
    }
    return { ok: true, fresh: { id: started.value.id, generation: backend.generation, events: started.value.shape.events } };
  }

  /** The barrier of a fresh-isolate swap: export the live state, import or migrate it there, switch. */
  async #commitFresh(next: ModVersion, plan: SwapPlan, staged: FreshStaged): Promise<Committed> {
    const slot = this.#slot;
    const backend = slot.ctx.backend;
    let target = staged;
    if (target.generation !== backend.generation || !backend.holds(target.id)) {
      // The sandbox process (or the pool member) was restarted since: warm it up again, inside the barrier.
      const again = await this.#stageFresh(next);
      if (!again.ok) return again;
      target = again.fresh;
    }
    let snapshot: StateSnapshot;
    try {
      snapshot = await this.#recovery.snapshot();
    } catch (err) {
      await backend.stop(target.id);
      return { ok: false, error: slot.info("E_STAGE_FAILED", `reading the state for the swap failed: ${(err as Error).message}`) };
    }
    const now = Date.now();
    const fromVersion = slot.version.manifest.version;
    const init = plan.migrate ? { kind: "migrate" as const, snapshot, fromVersion, now } : { kind: "import" as const, snapshot };
    const adopted = await backend.adopt(target.id, init);
    if (adopted.kind !== "ok") {
      await backend.stop(target.id);
      // migrate() ran on a copy in the new isolate: the live version and its state are untouched.
      if (!plan.migrate) return { ok: false, error: slot.info("E_STAGE_FAILED", `moving the state to the new isolate failed: ${adopted.kind === "failed" ? adopted.error.message : adopted.kind}`) };
      return this.#refused(next, migrationError(slot.name, adopted, next), adopted.kind === "timeout", { kind: "migrate", fromVersion }, snapshot);
    }
    const from = slot.version;
    await slot.instance.drop();
    slot.instance.set(target.id, target.generation);
    // The state at the barrier becomes the checkpoint; the transition is its journal's first entry.
    const entry: TransitionEntry = plan.migrate ? { kind: "migrate", version: next, fromVersion, now } : { kind: "activate", version: next };
    this.#journal.transition(entry, { snapshot, version: from });
    return { ok: true, events: target.events };
  }

  /** A faulted or quarantined mod starts the new version from its last checkpoint, in a fresh isolate. */
  async #replaceStopped(next: ModVersion, plan: SwapPlan, run: SwapRun): Promise<SwapReport> {
    const slot = this.#slot;
    const from = slot.version;
    const barrier = performance.now();
    const checkpoint = this.#journal.checkpoint;
    const backend = slot.ctx.backend;
    await slot.instance.drop();
    // Without a checkpoint the mod never ran: start it fresh with init().
    const init =
      checkpoint === undefined
        ? { kind: "init" as const, now: Date.now() }
        : plan.migrate
          ? { kind: "migrate" as const, snapshot: checkpoint.snapshot, fromVersion: checkpoint.version.manifest.version, now: Date.now() }
          : { kind: "import" as const, snapshot: checkpoint.snapshot };
    const started = await backend.start(next.spec, checkpoint?.snapshot.rng ?? randomSeed(slot.ctx.randomSeed, slot.name), init);
    run.phases.stage = performance.now() - barrier;
    if (started.kind !== "ok") return run.rejected(slot.failureInfo(failureIn(started, "starting the mod"), next), performance.now() - barrier);
    slot.instance.set(started.value.id);
    slot.shape = started.value.shape;
    // Replaying the old journal through new code would not be honest: the new version starts
    // from the last checkpoint (events journaled since were already answered by the old one).
    const exported = await backend.exportState(started.value.id);
    if (exported.kind !== "ok") {
      await slot.instance.drop();
      return run.rejected(slot.info("E_STAGE_FAILED", "the new version's state could not be read"), performance.now() - barrier);
    }
    this.#journal.setCheckpoint(exported.value, next);
    slot.status = "running";
    slot.lastError = undefined;
    slot.consecutiveFaults = 0;
    run.phases.commit = performance.now() - barrier;
    this.#adopt(next, from, plan.kind, started.value.shape.events);
    return run.report({ to: next, pauseMs: performance.now() - barrier });
  }

  /** Bookkeeping once a version is live: history, shape, probation. */
  #adopt(next: ModVersion, from: ModVersion, kind: "swap" | "rollback", events: readonly string[]): void {
    const slot = this.#slot;
    if (kind === "rollback") {
      // A rollback to an older version (rollback --to) drops the versions after it too.
      const at = slot.previous.lastIndexOf(next);
      slot.previous = at >= 0 ? slot.previous.slice(0, at) : slot.previous.slice(0, -1);
      slot.probation = undefined;
    } else {
      slot.previous.push(from);
      if (slot.previous.length > slot.ctx.historySize - 1) slot.previous.shift();
      slot.probation = slot.ctx.probation ? new Probation(slot.ctx.probation) : undefined;
    }
    if (slot.pendingApproval?.version === next) slot.pendingApproval = undefined;
    slot.version = next;
    slot.shape = { events };
    this.#journal.writeMetaLater(() => slot.ctx.versionsChanged());
  }
}

/** A version that could not be staged; a bare internal failure is reported as the stage's. */
function stageError(slot: SlotState, failure: SandboxFailure, next: ModVersion): ErrorInfo {
  return slot.failureInfo(failure.code === "E_INTERNAL" ? { ...failure, code: "E_STAGE_FAILED" } : failure, next);
}

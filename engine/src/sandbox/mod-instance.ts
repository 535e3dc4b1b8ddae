import { performance } from "node:perf_hooks";
import { LogBudget } from "./log-budget.js";
import { ModhostError } from "../errors/modhost-error.js";
import type { ErrorCode } from "../errors/error-codes.js";
import { IsolateHandle, type ModuleSet } from "./ivm.js";
import { IsolateCallbacks } from "./isolate-callbacks.js";
import { StarvedEvents, threadBudget } from "./cpu-budget.js";
import { isolatePool } from "./isolate-pool.js";
import { decodeDone, decodeSlice, decodeSnapshot, encodeBatch } from "./prelude-protocol.js";
import { RESULT_TAG } from "../model/result-list.js";
import { callPrelude, PRELUDE_FUNCTIONS, preludeSource, type PreludeHandles } from "./prelude-source.js";
import { failed, ok, type SandboxOutcome } from "./sandbox-outcome.js";
import { callFailure, loadVersion } from "./version-loader.js";
import type { DispatchOutcome, LoadSpec, ModShape, SandboxBridge, StateSnapshot, WireEvent } from "../model/wire.js";

/** A version that could not be brought up, with the isolate's stack when its code threw. */
export class ModLoadError extends ModhostError {
  readonly isolateStack: string | undefined;
  constructor(code: ErrorCode, message: string, mod: string, isolateStack?: string) {
    super(code, message, { mod });
    this.isolateStack = isolateStack;
  }
}

/** A staged version: its spec, shape and modules, beside the live one. */
interface Staged {
  readonly spec: LoadSpec;
  readonly shape: ModShape;
  readonly modules: ModuleSet;
}

/**
 * What an instance shares with its owner's other instances of the same mod (a restore opens a new
 * instance that must find them): its log budget, and the events whose call was cut while starved.
 * Fresh ones when not given.
 */
export interface InstanceShared {
  readonly logs?: LogBudget;
  readonly starved?: StarvedEvents;
}

/**
 * One version of one mod running in its own isolate. Synchronous: it is driven by a backend that
 * owns it (inline in the host, or inside the sandbox process), and disposed by that owner.
 */
export class ModInstance {
  #spec: LoadSpec;
  #shape: ModShape;
  #modules: ModuleSet;
  #staged: Staged | undefined;
  /** Numbers each dispatch call, so that collect() answers for the call that was stopped only. */
  #slices = 0;
  readonly #isolate: IsolateHandle;
  readonly #api: PreludeHandles;
  readonly #callbacks: IsolateCallbacks;
  readonly #starved: StarvedEvents;

  private constructor(spec: LoadSpec, isolate: IsolateHandle, api: PreludeHandles, callbacks: IsolateCallbacks, starved: StarvedEvents, loaded: { shape: ModShape; modules: ModuleSet }) {
    this.#spec = spec;
    this.#starved = starved;
    this.#isolate = isolate;
    this.#api = api;
    this.#callbacks = callbacks;
    this.#shape = loaded.shape;
    this.#modules = loaded.modules;
  }

  /** The live version's load spec. */
  get spec(): LoadSpec {
    return this.#spec;
  }

  /** What the live version's definition handles. */
  get shape(): ModShape {
    return this.#shape;
  }

  /**
   * Creates the isolate, runs the prelude, links and evaluates the mod's modules. A failure
   * (E_MOD_LOAD_THREW, E_MOD_DEFINITION, or a stop: timeout, memory) disposes the isolate.
   */
  static open(spec: LoadSpec, bridge: SandboxBridge, seed: readonly number[], shared: InstanceShared = {}): SandboxOutcome<ModInstance> {
    // An isolate made ahead of need, with the prelude already run, if one waits (isolate-pool.ts).
    const premade = isolatePool.take(spec.memoryMb);
    const isolate = premade?.isolate ?? IsolateHandle.create(spec.memoryMb);
    let opened: SandboxOutcome<ModInstance> | undefined;
    try {
      opened = ModInstance.#open(isolate, premade?.api, spec, bridge, seed, shared);
      return opened;
    } finally {
      if (opened?.kind !== "ok") isolate.dispose();
    }
  }

  /**
   * open() in an isolate the caller made and disposes whatever the outcome (a profiled one:
   * sandbox/timeout-locator.ts); no pre-made isolate is taken.
   */
  static openIn(isolate: IsolateHandle, spec: LoadSpec, bridge: SandboxBridge, seed: readonly number[]): SandboxOutcome<ModInstance> {
    return ModInstance.#open(isolate, undefined, spec, bridge, seed, {});
  }

  static #open(isolate: IsolateHandle, premadeApi: PreludeHandles | undefined, spec: LoadSpec, bridge: SandboxBridge, seed: readonly number[], shared: InstanceShared): SandboxOutcome<ModInstance> {
    let api = premadeApi;
    if (api === undefined) {
      const script = isolate.runScriptForFunctions(preludeSource(), "modhost:prelude", PRELUDE_FUNCTIONS, 1000);
      if (script.kind !== "ok") return callFailure(script, spec, "starting the sandbox", "E_MOD_LOAD_THREW");
      api = script.value;
    }
    const holder: { instance?: ModInstance } = {};
    const logs = shared.logs ?? new LogBudget(spec.logLinesPerSecond, spec.logBytesPerSecond);
    const callbacks = new IsolateCallbacks(bridge, logs, () => holder.instance?.spec ?? spec);
    const logFn = isolate.callback((level, message, seq) => callbacks.onLog(level, message, seq));
    const capFn = isolate.callback((seq, permission, argsJson, elapsedMs) => callbacks.onCapability(seq, permission, argsJson, elapsedMs));
    const booted = callPrelude(isolate, api, "boot", [logFn, capFn, JSON.stringify(seed)], 1000);
    if (booted.kind !== "ok") return callFailure(booted, spec, "starting the sandbox", "E_MOD_LOAD_THREW");
    const loaded = loadVersion(isolate, api, spec);
    if (loaded.kind !== "ok") return loaded;
    const activated = callPrelude(isolate, api, "activate", [], 1000);
    if (activated.kind !== "ok") {
      loaded.value.modules.release();
      return callFailure(activated, spec, "starting the mod", "E_MOD_LOAD_THREW");
    }
    const instance = new ModInstance(spec, isolate, api, callbacks, shared.starved ?? new StarvedEvents(), loaded.value);
    holder.instance = instance;
    callbacks.attach();
    return ok(instance);
  }

  /** open(), throwing the failure as a ModLoadError (for callers that want an instance or an exception). */
  static create(spec: LoadSpec, bridge: SandboxBridge, seed: readonly number[], shared?: InstanceShared): ModInstance {
    const opened = ModInstance.open(spec, bridge, seed, shared);
    if (opened.kind === "ok") return opened.value;
    const error = opened.error ?? { code: "E_INTERNAL" as const, message: `starting the mod: ${opened.kind}` };
    throw new ModLoadError(error.code, error.message, spec.name, error.stack);
  }

  /**
   * Loads another version's modules into this isolate while the live version keeps serving.
   * Nothing changes for events until activate() or migrateInPlace(); abortStaged() forgets it.
   * A failure here may have left globals changed by the new version's top-level code, so the
   * owner should treat the instance as tainted.
   */
  stage(spec: LoadSpec): SandboxOutcome<ModShape> {
    this.abortStaged();
    const loaded = loadVersion(this.#isolate, this.#api, spec);
    if (loaded.kind !== "ok") return loaded;
    this.#staged = { spec, ...loaded.value };
    return ok(loaded.value.shape);
  }

  /** Makes the staged version live; the state object is handed over untouched. */
  activate(): SandboxOutcome<void> {
    const staged = this.#staged;
    if (staged === undefined) return failed("E_INTERNAL", "no version is staged");
    const out = callPrelude(this.#isolate, this.#api, "activate", [], 100);
    if (out.kind !== "ok") return out.kind === "threw" ? failed("E_INTERNAL", out.message) : { kind: out.kind };
    this.#promote(staged);
    return ok(undefined);
  }

  /**
   * Runs the staged version's migrate() on the live state; on success that version is live (no
   * snapshot: the host journals the migrate and a recovery runs it again). On failure the state may be half-migrated: the owner
   * must restore the instance from its checkpoint.
   */
  migrateInPlace(fromVersion: string, now: number): SandboxOutcome<void> {
    const staged = this.#staged;
    if (staged === undefined) return failed("E_INTERNAL", "no version is staged");
    const out = callPrelude(this.#isolate, this.#api, "migrateInPlace", [fromVersion, now], staged.spec.callTimeoutMs * 10);
    if (out.kind !== "ok") return out.kind === "threw" ? failed("E_MIGRATION_FAILED", out.message) : { kind: out.kind };
    const done = decodeDone(out.value, "E_MIGRATION_FAILED");
    if (done.kind === "ok") this.#promote(staged);
    return done;
  }

  /** Forgets a staged version, if any. */
  abortStaged(): void {
    const staged = this.#staged;
    if (staged === undefined) return;
    this.#staged = undefined;
    staged.modules.release();
    if (!this.dead) callPrelude(this.#isolate, this.#api, "abort", [], 100);
  }

  #promote(staged: Staged): void {
    this.#staged = undefined;
    const old = this.#modules;
    // Releasing the old version's module handles (tens of us, more on a loaded machine) waits for
    // the next turn: the events sent behind the swap run first. A dispose first releases them.
    setImmediate(() => old.release());
    this.#modules = staged.modules;
    this.#spec = staged.spec;
    this.#shape = staged.shape;
  }

  /** Has the isolate gone (memory limit, or disposed)? */
  get dead(): boolean {
    return this.#isolate.disposed;
  }

  /** Runs init() and makes its result the state. */
  initState(now: number): SandboxOutcome<void> {
    // init() builds a whole world once (10k entities take tens of ms): it gets the load budget.
    const out = callPrelude(this.#isolate, this.#api, "initState", [now], this.spec.callTimeoutMs * 10);
    if (out.kind === "threw") return failed("E_THREW", out.message);
    return out.kind === "ok" ? decodeDone(out.value, "E_THREW") : { kind: out.kind };
  }

  /** Runs migrate(old, fromVersion) and makes its result the state. */
  migrateState(oldStateJson: string, fromVersion: string, now: number): SandboxOutcome<void> {
    const out = callPrelude(this.#isolate, this.#api, "migrateState", [oldStateJson, fromVersion, now], this.spec.callTimeoutMs * 10);
    if (out.kind === "threw") return failed("E_MIGRATION_FAILED", out.message);
    return out.kind === "ok" ? decodeDone(out.value, "E_MIGRATION_FAILED") : { kind: out.kind };
  }

  /** Replaces the state and the random generator's position with a snapshot. */
  importState(snapshot: StateSnapshot): SandboxOutcome<void> {
    const out = callPrelude(this.#isolate, this.#api, "importState", [snapshot.state, JSON.stringify(snapshot.rng)], this.spec.callTimeoutMs * 10);
    if (out.kind === "ok") return ok(undefined);
    if (out.kind === "threw") return failed("E_STATE_CORRUPT", out.message);
    return { kind: out.kind };
  }

  /** The state as JSON text plus the random generator's position. */
  exportState(): SandboxOutcome<StateSnapshot> {
    const started = performance.now();
    const out = callPrelude(this.#isolate, this.#api, "exportState", [], this.spec.callTimeoutMs * 10);
    if (out.kind !== "ok") return out.kind === "threw" ? failed("E_INTERNAL", out.message) : { kind: out.kind };
    const snapshot = decodeSnapshot(out.value, "E_NOT_PLAIN_DATA");
    return snapshot.kind === "ok" ? ok({ ...snapshot.value, costMs: performance.now() - started }) : snapshot;
  }

  /**
   * Runs events in order. Each event gets the full call timeout: the prelude starts new events
   * only during the first tenth of it, and the call is cut at slice + timeout (its deadline then
   * aligned to a grid, sandbox/cpu-budget.ts alignedTimeoutMs: at most a step later). A replay serves
   * capability calls from the records only and drops log lines. `limitFactor` overrides the
   * time limit's multiple (a replay's is 10).
   */
  dispatch(events: readonly WireEvent[], replay: boolean, limitFactor?: number): DispatchOutcome {
    const started = performance.now();
    this.#callbacks.beginDispatch(events, replay);
    // A replay re-runs events that already succeeded once: a loaded machine must not fail them.
    const timeout = this.spec.callTimeoutMs * (limitFactor ?? (replay ? 10 : 1));
    const sliceMs = Math.max(1, Math.floor(this.spec.callTimeoutMs / 10));
    const parts: string[] = [];
    let done = 0;
    let late = 0;
    const finish = (stop?: DispatchOutcome["stop"]): DispatchOutcome => ({
      count: done,
      resultsJson: `[${parts.join(",")}]`,
      ranMs: performance.now() - started,
      ...(stop !== undefined ? { stop } : {}),
      ...(late > 0 ? { late } : {}),
    });
    const take = (slice: { count: number; inner: string }): void => {
      if (slice.count > 0) parts.push(slice.inner);
      done += slice.count;
    };
    try {
      while (done < events.length) {
        const batch = encodeBatch(events, done);
        const number = ++this.#slices;
        const call = () => callPrelude(this.#isolate, this.#api, "dispatch", [batch, sliceMs, number], timeout + sliceMs);
        // The rerun of an event cut while starved (sandbox/cpu-budget.ts) runs with the wall backstop, once.
        const rerun = this.#starved.take(this.spec.name, events, done);
        if (rerun !== undefined) this.#callbacks.skipRepeatedLines(rerun);
        const out = rerun !== undefined ? threadBudget().inBackstop(call) : call();
        if (out.kind === "ok") {
          const slice = decodeSlice(out.value);
          if (slice === undefined) return this.#failRest(events, parts, done, finish, "the sandbox runtime answered with an unreadable slice");
          take(slice);
          // The prelude ended the slice before the event whose time ran out in a capability call.
          if (this.#callbacks.cut) return finish("timeout");
          continue;
        }
        if (out.kind !== "timeout" && out.kind !== "threw") return finish(out.kind);
        // What finished before the call was stopped (or threw) still counts.
        const collected = callPrelude(this.#isolate, this.#api, "collect", [number], 100);
        const finished = callPrelude(this.#isolate, this.#api, "sliceFinished", [number], 100);
        const slice = collected.kind === "ok" ? decodeSlice(collected.value) : undefined;
        if (slice !== undefined) take(slice);
        const sliceRanToEnd = finished.kind === "ok" && finished.value === "1";
        if (out.kind === "timeout") {
          if (!sliceRanToEnd && out.starved === true) {
            // Cut without having had its limit of CPU (a starved machine, not the mod): the state
            // is tainted, so the owner restores it and runs the rest again ("lost", no fault).
            const culprit = events[done];
            if (culprit !== undefined) this.#starved.add(this.spec.name, culprit.seq, this.#callbacks.linesSentBy(culprit.seq));
            return finish("lost");
          }
          if (!sliceRanToEnd) return finish("timeout");
          late++; // promise callbacks a handler left behind ran out of time after the slice: stopped
          continue;
        }
        if (sliceRanToEnd) {
          // An unhandled rejection surfaces after the slice: every event of it did run.
          this.#callbacks.onLog("warn", `unhandled promise rejection: ${out.message}`);
          continue;
        }
        // The prelude itself failed: the mod broke something it relies on. Fail the rest.
        return this.#failRest(events, parts, done, finish, `the sandbox runtime failed: ${out.message}`);
      }
      return finish();
    } finally {
      this.#callbacks.endDispatch();
    }
  }

  #failRest(events: readonly WireEvent[], parts: string[], from: number, finish: () => DispatchOutcome, message: string): DispatchOutcome {
    const error = `${RESULT_TAG.failed},${JSON.stringify({ code: "E_THREW", message })}`;
    for (let i = from; i < events.length; i++) parts.push(error);
    return { ...finish(), count: events.length };
  }

  /** Heap used and the limit, in bytes. */
  heap(): { usedBytes: number; limitBytes: number } | undefined {
    return this.#isolate.heap();
  }

  /** Releases the isolate. Idempotent. */
  dispose(): void {
    this.#isolate.dispose();
  }
}

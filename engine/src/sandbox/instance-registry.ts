import { ModInstance, type InstanceShared } from "./mod-instance.js";
import { PreloadedVersions } from "./preloaded-versions.js";
import { StarvedEvents, threadBudget } from "./cpu-budget.js";
import { DEFAULT_LOG_BYTES_PER_SECOND, DEFAULT_LOG_LINES_PER_SECOND, LogBudget } from "./log-budget.js";
import type { AdoptInit, CommitMode, RestoreOutcome, RestoreRequest, StartedInstance, StateInit } from "./sandbox-backend.js";
import { failureIn, failureOf, ok, type SandboxOutcome } from "./sandbox-outcome.js";
import type { DispatchOutcome, LoadSpec, ModShape, SandboxBridge, StateSnapshot, WireEvent } from "../model/wire.js";

const GONE: SandboxOutcome<never> = { kind: "disposed", error: { code: "E_INTERNAL", message: "the instance is gone" } };

/**
 * Owns the ModInstances of one process (the host in inline mode, the sandbox process otherwise)
 * and runs requests against them synchronously. Both backends are thin layers over this.
 */
export class InstanceRegistry {
  readonly #instances = new Map<string, ModInstance>();
  readonly #bridge: SandboxBridge;
  readonly #idPrefix: string;
  /** Each mod's log rate, shared by its instances (a restore must not reset it). */
  readonly #logBudgets = new Map<string, LogBudget>();
  /** This registry's events cut while starved: their rerun is in an instance restored here. */
  readonly #starved = new StarvedEvents();
  /** Versions loaded ahead of restores, in a spare process (sandbox/preloaded-versions.ts). */
  readonly #preloaded = new PreloadedVersions();
  #next = 1;

  /** `idPrefix` keeps ids unique across sandbox process generations. */
  constructor(bridge: SandboxBridge, idPrefix: string) {
    this.#bridge = bridge;
    this.#idPrefix = idPrefix;
  }

  /** Starts an instance. A failure to start (load, definition, limits) keeps its stop; a failure to initialize is "failed". */
  start(spec: LoadSpec, seed: readonly number[], init: StateInit): SandboxOutcome<StartedInstance> {
    const first = this.#start(spec, seed, init);
    // A start cut while the machine starved the thread (sandbox/cpu-budget.ts) runs again once,
    // with the wall backstop (nothing of the first attempt is left: its isolate was disposed).
    if (first.kind !== "ok" && threadBudget().lastCutStarved) return threadBudget().inBackstop(() => this.#start(spec, seed, init));
    return first;
  }

  /** How many preloaded versions wait. */
  get preloaded(): number {
    return this.#preloaded.size;
  }

  /**
   * Loads these versions ahead of need (one instance each, no state) and forgets preloaded ones
   * whose keys `keep` does not name. A start that imports a snapshot of one of them takes it.
   */
  preload(keep: readonly string[], add: readonly LoadSpec[]): void {
    this.#preloaded.update(keep, add, (spec) => {
      const opened = ModInstance.open(spec, this.#bridge, [0, 0, 0, 1], this.#shared(spec));
      return opened.kind === "ok" ? opened.value : undefined;
    });
  }

  #start(spec: LoadSpec, seed: readonly number[], init: StateInit): SandboxOutcome<StartedInstance> {
    // Importing a snapshot replaces all the state a start's seed would have made.
    const preloaded = init.kind === "import" ? this.#preloaded.take(spec) : undefined;
    const opened = preloaded !== undefined ? ok(preloaded) : ModInstance.open(spec, this.#bridge, seed, this.#shared(spec));
    if (opened.kind !== "ok") return opened;
    const instance = opened.value;
    const initialized = initialize(instance, init);
    if (initialized.kind !== "ok") {
      instance.dispose();
      return { kind: "failed", error: failureOf(initialized, init.kind === "migrate" ? "E_MIGRATION_FAILED" : "E_THREW") };
    }
    const id = `${this.#idPrefix}:${spec.name}#${this.#next++}`;
    this.#instances.set(id, instance);
    return ok({ id, shape: instance.shape });
  }

  /**
   * Starts an instance from a checkpoint and replays the journal's tail (the port's restore()).
   * A failed replay stops the instance: nothing of it is left for the owner to clean up.
   */
  restore(request: RestoreRequest): RestoreOutcome {
    const started = this.start(request.spec, request.snapshot.rng, { kind: "import", snapshot: request.snapshot });
    if (started.kind !== "ok") return { kind: "start-failed", start: started };
    const id = started.value.id;
    let shape = started.value.shape;
    const fail = (lost: boolean, why: string): RestoreOutcome => {
      this.stop(id);
      return { kind: "replay-failed", lost, why };
    };
    for (const step of request.steps) {
      if (step.kind === "events") {
        const out = this.dispatch(id, step.events, true);
        if (out.stop !== undefined) return fail(out.stop === "lost", `events stopped (${out.stop})`);
        if (out.count !== step.events.length) return fail(false, "events stopped (short)");
        continue;
      }
      const staged = this.stage(id, step.spec);
      if (staged.kind !== "ok") return fail(false, `staging version ${step.spec.version}: ${failureIn(staged, "staging the version").message}`);
      shape = staged.value;
      const committed = this.commit(id, step.mode);
      if (committed.kind !== "ok") return fail(false, `${step.mode.kind === "handover" ? "activating" : "migrating to"} version ${step.spec.version}: ${committed.kind}`);
    }
    return { kind: "ok", value: { id, shape } };
  }

  dispatch(id: string, events: readonly WireEvent[], replay: boolean): DispatchOutcome {
    const instance = this.#live(id);
    if (instance === undefined) return { count: 0, resultsJson: "[]", stop: "disposed", ranMs: 0 };
    return instance.dispatch(events, replay);
  }

  exportState(id: string): SandboxOutcome<StateSnapshot> {
    const instance = this.#live(id);
    if (instance === undefined) return { kind: "disposed" };
    const out = instance.exportState();
    // Reading the state changes nothing, so a read cut while starved is simply run again.
    if (out.kind === "timeout" && threadBudget().lastCutStarved) return threadBudget().inBackstop(() => instance.exportState());
    return out;
  }

  #live(id: string): ModInstance | undefined {
    const instance = this.#instances.get(id);
    return instance === undefined || instance.dead ? undefined : instance;
  }

  /** What an instance of `spec`'s mod shares with the others this registry opens of it. */
  #shared(spec: LoadSpec): InstanceShared {
    return { logs: this.#logBudget(spec), starved: this.#starved };
  }

  #logBudget(spec: LoadSpec): LogBudget {
    let budget = this.#logBudgets.get(spec.name);
    const lines = spec.logLinesPerSecond ?? DEFAULT_LOG_LINES_PER_SECOND;
    const bytes = spec.logBytesPerSecond ?? DEFAULT_LOG_BYTES_PER_SECOND;
    if (budget === undefined) {
      budget = new LogBudget(lines, bytes);
      this.#logBudgets.set(spec.name, budget);
    } else budget.setRates(lines, bytes);
    return budget;
  }

  /** Stages a version; any failure to load it is "failed" (the instance stays, tainted). */
  stage(id: string, spec: LoadSpec): SandboxOutcome<ModShape> {
    const instance = this.#live(id);
    if (instance === undefined) return GONE;
    const staged = instance.stage(spec);
    return staged.kind === "ok" ? staged : { kind: "failed", error: failureOf(staged, "E_MOD_LOAD_THREW") };
  }

  commit(id: string, mode: CommitMode): SandboxOutcome<void> {
    const instance = this.#live(id);
    if (instance === undefined) return { kind: "disposed" };
    if (mode.kind === "handover") {
      const out = instance.activate();
      if (out.kind === "ok") return out;
      // The host sends events behind a handover without waiting for it (slot/swap-transaction.ts):
      // they must find the instance gone, not run on the old version.
      this.stop(id);
      return out;
    }
    return instance.migrateInPlace(mode.fromVersion, mode.now);
  }

  adopt(id: string, init: AdoptInit): SandboxOutcome<void> {
    const instance = this.#live(id);
    if (instance === undefined) return { kind: "disposed" };
    return initialize(instance, init);
  }

  abortStaged(id: string): void {
    this.#instances.get(id)?.abortStaged();
  }

  heap(id: string): { usedBytes: number; limitBytes: number } | undefined {
    return this.#instances.get(id)?.heap();
  }

  stop(id: string): void {
    this.#instances.get(id)?.dispose();
    this.#instances.delete(id);
  }

  close(): void {
    this.#preloaded.close();
    for (const instance of this.#instances.values()) instance.dispose();
    this.#instances.clear();
  }
}

function initialize(instance: ModInstance, init: StateInit): SandboxOutcome<void> {
  switch (init.kind) {
    case "init":
      return instance.initState(init.now);
    case "empty":
      return ok(undefined);
    case "import":
      return instance.importState(init.snapshot);
    case "migrate": {
      const imported = instance.importState({ state: "null", rng: init.snapshot.rng });
      if (imported.kind !== "ok") return imported;
      return instance.migrateState(init.snapshot.state, init.fromVersion, init.now);
    }
  }
}

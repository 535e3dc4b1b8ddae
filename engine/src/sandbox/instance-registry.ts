import { ModhostError } from "../errors/modhost-error.js";
import type { InstanceFailure, StateOutcome } from "./mod-instance.js";
import { ModInstance, ModLoadError } from "./mod-instance.js";
import { threadBudget } from "./cpu-budget.js";
import { DEFAULT_LOG_BYTES_PER_SECOND, DEFAULT_LOG_LINES_PER_SECOND, LogBudget } from "./log-budget.js";
import type { CommitMode, StageResult, StartResult, StateInit } from "./sandbox-backend.js";
import type { DispatchOutcome, LoadSpec, SandboxBridge, StateSnapshot, WireEvent } from "../model/wire.js";

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
  #next = 1;

  /** `idPrefix` keeps ids unique across sandbox process generations. */
  constructor(bridge: SandboxBridge, idPrefix: string) {
    this.#bridge = bridge;
    this.#idPrefix = idPrefix;
  }

  start(spec: LoadSpec, seed: readonly number[], init: StateInit): StartResult {
    const first = this.#start(spec, seed, init);
    // w17-cpu hook: a start cut while the machine starved the thread runs again once, with the
    // wall backstop (nothing of the first attempt is left: its isolate was disposed).
    if (!first.ok && threadBudget().lastCutStarved) return threadBudget().inBackstop(() => this.#start(spec, seed, init));
    return first;
  }

  #start(spec: LoadSpec, seed: readonly number[], init: StateInit): StartResult {
    let instance: ModInstance;
    try {
      instance = ModInstance.create(spec, this.#bridge, seed, this.#logBudget(spec));
    } catch (err) {
      if (err instanceof ModhostError) {
        const stop = err.code === "E_TIMEOUT" ? "timeout" : err.code === "E_MEMORY_LIMIT" ? "memory" : undefined;
        const stack = err instanceof ModLoadError ? err.isolateStack : undefined;
        return { ok: false, error: { code: err.code, message: err.message, ...(stack ? { stack } : {}) }, ...(stop ? { stop } : {}) };
      }
      throw err;
    }
    const initialized = initialize(instance, init);
    if (initialized.kind !== "ok") {
      instance.dispose();
      return { ok: false, error: failureFrom(initialized, init.kind === "migrate" ? "E_MIGRATION_FAILED" : "E_THREW") };
    }
    const id = `${this.#idPrefix}:${spec.name}#${this.#next++}`;
    this.#instances.set(id, instance);
    return { ok: true, id, shape: instance.shape };
  }

  dispatch(id: string, events: readonly WireEvent[], replay: boolean): DispatchOutcome {
    const instance = this.#instances.get(id);
    if (instance === undefined || instance.dead) return { count: 0, resultsJson: "[]", stop: "disposed" };
    return instance.dispatch(events, replay);
  }

  exportState(id: string): StateOutcome<StateSnapshot> {
    const instance = this.#instances.get(id);
    if (instance === undefined || instance.dead) return { kind: "disposed" };
    const out = instance.exportState();
    // w17-cpu hook: reading the state changes nothing, so a read cut while starved is simply run again.
    if (out.kind === "timeout" && threadBudget().lastCutStarved) return threadBudget().inBackstop(() => instance.exportState());
    return out;
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

  stage(id: string, spec: LoadSpec): StageResult {
    const instance = this.#instances.get(id);
    if (instance === undefined || instance.dead) return { ok: false, error: { code: "E_INTERNAL", message: "the instance is gone" }, stop: "disposed" };
    const staged = instance.stage(spec);
    if (staged.ok) return staged;
    const stack = staged.error instanceof ModLoadError ? staged.error.isolateStack : undefined;
    return { ok: false, error: { code: staged.error.code, message: staged.error.message, ...(stack ? { stack } : {}) } };
  }

  commit(id: string, mode: CommitMode): StateOutcome<StateSnapshot | null> {
    const instance = this.#instances.get(id);
    if (instance === undefined || instance.dead) return { kind: "disposed" };
    if (mode.kind === "handover") {
      const out = instance.activate();
      return out.kind === "ok" ? { kind: "ok", value: null } : out;
    }
    return instance.migrateInPlace(mode.fromVersion, mode.now);
  }

  adopt(id: string, init: Extract<StateInit, { kind: "import" | "migrate" }>): StateOutcome<void> {
    const instance = this.#instances.get(id);
    if (instance === undefined || instance.dead) return { kind: "disposed" };
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
    for (const instance of this.#instances.values()) instance.dispose();
    this.#instances.clear();
  }
}

function initialize(instance: ModInstance, init: StateInit): StateOutcome<void> {
  switch (init.kind) {
    case "init":
      return instance.initState(init.now);
    case "empty":
      return { kind: "ok", value: undefined };
    case "import":
      return instance.importState(init.snapshot);
    case "migrate": {
      const imported = instance.importState({ state: "null", rng: init.snapshot.rng });
      if (imported.kind !== "ok") return imported;
      return instance.migrateState(init.snapshot.state, init.fromVersion, init.now);
    }
  }
}

function failureFrom(outcome: Exclude<StateOutcome<void>, { kind: "ok" }>, code: InstanceFailure["code"]): InstanceFailure {
  switch (outcome.kind) {
    case "failed":
      return outcome.error;
    case "timeout":
      return { code: code === "E_MIGRATION_FAILED" ? code : "E_TIMEOUT", message: "ran past the time limit" };
    case "memory":
      return { code: code === "E_MIGRATION_FAILED" ? code : "E_MEMORY_LIMIT", message: "ran past the memory limit" };
    case "disposed":
      return { code: "E_INTERNAL", message: "the isolate was disposed" };
  }
}

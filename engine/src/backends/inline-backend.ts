import { InstanceRegistry } from "../sandbox/instance-registry.js";
import type { AdoptInit, CommitMode, CrashInfo, HotSpot, LocateRequest, RestoreOutcome, RestoreRequest, SandboxBackend, StartedInstance, StateInit } from "../sandbox/sandbox-backend.js";
import { locateInChild } from "./locator-process.js";
import type { SandboxOutcome } from "../sandbox/sandbox-outcome.js";
import type { DispatchResult, LoadSpec, ModShape, SandboxBridge, StateSnapshot, WireEvent } from "../model/wire.js";
import { decodeResultList } from "../model/result-list.js";

/**
 * Runs isolates in the host process: the lowest latency, but a V8 crash inside an isolate takes
 * the host down with it. The host process must run with --no-node-snapshot.
 */
export class InlineBackend implements SandboxBackend {
  readonly kind = "inline";
  readonly generation = 1;
  readonly #registry: InstanceRegistry;

  constructor(bridge: SandboxBridge) {
    this.#registry = new InstanceRegistry(bridge, "inline");
  }

  start(spec: LoadSpec, seed: readonly number[], init: StateInit): Promise<SandboxOutcome<StartedInstance>> {
    return Promise.resolve(this.#registry.start(spec, seed, init));
  }
  restore(request: RestoreRequest): Promise<RestoreOutcome> {
    return Promise.resolve(this.#registry.restore(request));
  }
  dispatch(id: string, events: readonly WireEvent[], replay: boolean): Promise<DispatchResult> {
    const outcome = this.#registry.dispatch(id, events, replay);
    const results = decodeResultList(JSON.parse(outcome.resultsJson) as unknown[]);
    return Promise.resolve({ results, ranMs: outcome.ranMs, ...(outcome.stop !== undefined ? { stop: outcome.stop } : {}), ...(outcome.late ? { late: outcome.late } : {}) });
  }
  exportState(id: string): Promise<SandboxOutcome<StateSnapshot>> {
    return Promise.resolve(this.#registry.exportState(id));
  }
  stage(id: string, spec: LoadSpec): Promise<SandboxOutcome<ModShape>> {
    return Promise.resolve(this.#registry.stage(id, spec));
  }
  commit(id: string, mode: CommitMode): Promise<SandboxOutcome<void>> {
    return Promise.resolve(this.#registry.commit(id, mode));
  }
  adopt(id: string, init: AdoptInit): Promise<SandboxOutcome<void>> {
    return Promise.resolve(this.#registry.adopt(id, init));
  }
  /** An inline instance goes only when its owner stops it. */
  holds(_id: string): boolean {
    return true;
  }
  abortStaged(id: string): Promise<void> {
    this.#registry.abortStaged(id);
    return Promise.resolve();
  }
  heap(id: string): Promise<{ usedBytes: number; limitBytes: number } | undefined> {
    return Promise.resolve(this.#registry.heap(id));
  }
  locate(request: LocateRequest): Promise<HotSpot | null> {
    // In a child process, never in the game's: the profiled replay can crash its process (backends/locator-process.ts).
    return locateInChild(request);
  }
  stop(id: string): Promise<void> {
    this.#registry.stop(id);
    return Promise.resolve();
  }
  onCrash(listener: (info: CrashInfo) => void): void {
    void listener; // an inline sandbox cannot crash without taking the host down too
  }
  close(): Promise<void> {
    this.#registry.close();
    return Promise.resolve();
  }
}

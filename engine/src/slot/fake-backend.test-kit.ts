// A fake SandboxBackend for the slot's unit tests: no isolate, a counter per instance, and
// scripted failures. Not shipped (excluded from the build); the real-isolate suites in test/
// cover the same paths against isolated-vm.
import type { ModVersion } from "../compile/mod-version.js";
import type { FaultEvent } from "../model/mod-events.js";
import type { SwapPlan } from "../model/swap-plan.js";
import type { DispatchResult, LoadSpec, ModShape, StateSnapshot, WireEvent, WireResult } from "../model/wire.js";
import type { CommitMode, CrashInfo, HotSpot, RestoreOutcome, RestoreRequest, SandboxBackend, StartedInstance, StateInit } from "../sandbox/sandbox-backend.js";
import type { SandboxOutcome } from "../sandbox/sandbox-outcome.js";
import type { SlotContext } from "./slot-context.js";

/**
 * What the fake mod does with an event, by name: "add" adds the payload (a number) to the state;
 * "fail" answers an error; "timeout" and "memory" stop the dispatch as the isolate would;
 * "crash" takes the whole sandbox down (every instance, a new generation).
 */
export const FAKE_EVENTS = ["add", "fail", "timeout", "memory", "crash"] as const;

/** One call the backend got, for assertions on what the slot asked for and in which order. */
export type FakeCall =
  | { readonly op: "start"; readonly version: string; readonly init: StateInit["kind"] }
  | { readonly op: "dispatch"; readonly events: readonly string[]; readonly replay: boolean }
  | { readonly op: "stage"; readonly version: string }
  | { readonly op: "commit"; readonly mode: CommitMode["kind"] }
  | { readonly op: "adopt" | "export" | "stop"; readonly id: string };

interface FakeInstance {
  state: number;
  version: string;
  staged: string | undefined;
}

export class FakeBackend implements SandboxBackend {
  readonly kind = "inline" as const;
  generation = 0;
  readonly calls: FakeCall[] = [];
  /** Outcomes for the next start() calls, consumed in order ("ok" when empty). */
  readonly startOutcomes: ("ok" | "lost" | "failed")[] = [];
  /** The next handover fails as a lost isolate's would, and the instance goes (as the sandbox drops it). */
  failNextHandover = false;
  /** Called as a handover arrives (the barrier holds the queue then): a game's event arriving mid-swap. */
  onHandover: (() => void) | undefined;
  /** The next dispatch loses the sandbox to another mod's crash (results so far, then "lost"). */
  loseNextDispatch = false;
  /** The time each event of a dispatch "ran" (DispatchResult.ranMs), and each export's cost (ms). */
  ranMsPerEvent = 0.01;
  exportCostMs = 0.1;
  /**
   * The next start with this init is answered, then its sandbox process dies as a pool member's
   * does: every instance goes, but `generation` stays (holds() tells).
   */
  memberCrashAfterStart: StateInit["kind"] | undefined;
  readonly #gone = new Set<string>();
  readonly #instances = new Map<string, FakeInstance>();
  #nextId = 0;

  /** Every instance, by id (the live ones). */
  get instances(): ReadonlyMap<string, { readonly state: number; readonly version: string }> {
    return this.#instances;
  }

  /** The sandbox process died (another mod's doing): every instance is gone. */
  crashAll(): void {
    this.#instances.clear();
    this.generation++;
  }

  async start(spec: LoadSpec, _seed: readonly number[], init: StateInit): Promise<SandboxOutcome<StartedInstance>> {
    this.calls.push({ op: "start", version: spec.version, init: init.kind });
    const outcome = this.startOutcomes.shift() ?? "ok";
    if (outcome === "lost") {
      this.crashAll();
      return { kind: "lost", error: { code: "E_SANDBOX_CRASHED", message: "lost with the sandbox" } };
    }
    if (outcome === "failed") return { kind: "failed", error: { code: "E_INTERNAL", message: "the fake refused to start" } };
    const id = `fake:${spec.name}#${this.#nextId++}`;
    const state = init.kind === "import" || init.kind === "migrate" ? (JSON.parse(init.snapshot.state) as number) : 0;
    this.#instances.set(id, { state, version: spec.version, staged: undefined });
    if (this.memberCrashAfterStart === init.kind) {
      this.memberCrashAfterStart = undefined;
      for (const gone of this.#instances.keys()) this.#gone.add(gone);
      this.#instances.clear();
    }
    return { kind: "ok", value: { id, shape: shape() } };
  }

  /** Step by step through the calls above (so `calls` shows the restore's parts), as the sandbox runs it. */
  async restore(request: RestoreRequest): Promise<RestoreOutcome> {
    const started = await this.start(request.spec, request.snapshot.rng, { kind: "import", snapshot: request.snapshot });
    if (started.kind !== "ok") return { kind: "start-failed", start: started };
    const id = started.value.id;
    for (const step of request.steps) {
      if (step.kind === "events") {
        const out = await this.dispatch(id, step.events, true);
        if (out.stop !== undefined || out.results.length !== step.events.length) {
          // The sandbox died under the replay: the request is lost with it (its culprit, if this mod).
          if (out.stop === "lost" || out.stop === "crashed") return { kind: "start-failed", start: { kind: out.stop } };
          await this.stop(id);
          return { kind: "replay-failed", lost: false, why: `events stopped (${out.stop ?? "short"})` };
        }
        continue;
      }
      const staged = await this.stage(id, step.spec);
      const committed = staged.kind === "ok" ? await this.commit(id, step.mode) : staged;
      if (committed.kind !== "ok") {
        await this.stop(id);
        return { kind: "replay-failed", lost: false, why: `version ${step.spec.version}: ${committed.kind}` };
      }
    }
    return { kind: "ok", value: started.value };
  }

  async dispatch(id: string, events: readonly WireEvent[], replay: boolean): Promise<DispatchResult> {
    this.calls.push({ op: "dispatch", events: events.map((e) => e.name), replay });
    const instance = this.#instances.get(id);
    if (instance === undefined) return { results: [], stop: "disposed" };
    const results: WireResult[] = [];
    for (const event of events) {
      if (this.loseNextDispatch) {
        this.loseNextDispatch = false;
        this.crashAll();
        return { results, stop: "lost" };
      }
      switch (event.name) {
        case "add":
          instance.state += JSON.parse(event.payload) as number;
          results.push({ ok: true, value: instance.state });
          break;
        case "fail":
          results.push({ ok: false, error: { code: "E_THREW", message: "the handler threw" } });
          break;
        case "timeout":
        case "memory":
          this.#instances.delete(id);
          return { results, stop: event.name };
        case "crash":
          this.crashAll();
          return { results, stop: "crashed" };
        default:
          results.push({ ok: true });
      }
    }
    return { results, ranMs: this.ranMsPerEvent * events.length };
  }

  async exportState(id: string): Promise<SandboxOutcome<StateSnapshot>> {
    this.calls.push({ op: "export", id });
    const instance = this.#instances.get(id);
    if (instance === undefined) return { kind: "disposed" };
    return { kind: "ok", value: { ...snapshotOf(instance.state), costMs: this.exportCostMs } };
  }

  async stage(id: string, spec: LoadSpec): Promise<SandboxOutcome<ModShape>> {
    this.calls.push({ op: "stage", version: spec.version });
    const instance = this.#instances.get(id);
    if (instance === undefined) return { kind: "lost", error: { code: "E_INTERNAL", message: "no such instance" } };
    instance.staged = spec.version;
    return { kind: "ok", value: shape() };
  }

  async commit(id: string, mode: CommitMode): Promise<SandboxOutcome<void>> {
    this.calls.push({ op: "commit", mode: mode.kind });
    const instance = this.#instances.get(id);
    if (instance?.staged === undefined) return { kind: "disposed" };
    if (mode.kind === "handover") this.onHandover?.();
    if (mode.kind === "handover" && this.failNextHandover) {
      this.failNextHandover = false;
      this.#instances.delete(id);
      return { kind: "disposed" };
    }
    instance.version = instance.staged;
    instance.staged = undefined;
    return { kind: "ok", value: undefined };
  }

  holds(id: string): boolean {
    // crashAll() grows `generation`, as the process backend's crash does; a member's crash does not.
    return !this.#gone.has(id);
  }

  async abortStaged(id: string): Promise<void> {
    const instance = this.#instances.get(id);
    if (instance !== undefined) instance.staged = undefined;
  }

  async adopt(id: string, init: Extract<StateInit, { kind: "import" | "migrate" }>): Promise<SandboxOutcome<void>> {
    this.calls.push({ op: "adopt", id });
    const instance = this.#instances.get(id);
    if (instance === undefined) return { kind: "disposed" };
    instance.state = JSON.parse(init.snapshot.state) as number;
    return { kind: "ok", value: undefined };
  }

  async heap(id: string): Promise<{ usedBytes: number; limitBytes: number } | undefined> {
    return this.#instances.has(id) ? { usedBytes: 1, limitBytes: 100 } : undefined;
  }

  /** The fake runs no code: there is nothing to locate. */
  async locate(): Promise<HotSpot | null> {
    return null;
  }
  async stop(id: string): Promise<void> {
    this.calls.push({ op: "stop", id });
    this.#instances.delete(id);
  }

  onCrash(_listener: (info: CrashInfo) => void): void {}

  async close(): Promise<void> {
    this.#instances.clear();
  }
}

function shape(): ModShape {
  return { events: [...FAKE_EVENTS], hasInit: true, hasMigrate: true };
}

function snapshotOf(state: number): StateSnapshot {
  return { state: JSON.stringify(state), rng: [0, 0, 0, 1] };
}

/** A version of the fake mod (only what the slot reads of it is real). */
export function fakeVersion(version: string, spec: { memoryMb?: number; callTimeoutMs?: number } = {}): ModVersion {
  const loadSpec: LoadSpec = {
    name: "counter",
    version,
    hash: `hash-${version}`,
    entry: "index.js",
    modules: [],
    permissions: [],
    memoryMb: spec.memoryMb ?? 16,
    callTimeoutMs: spec.callTimeoutMs ?? 50,
    maxBytes: 1 << 20,
    maxLogsPerCall: 100,
  };
  return { dir: "/fake/counter", manifest: { name: "counter", version } as ModVersion["manifest"], hash: loadSpec.hash, spec: loadSpec, modules: [], diagnostics: [], files: new Map() };
}

/** A plan for a plain swap (no migrate) or a rollback. */
export function fakePlan(kind: SwapPlan["kind"] = "swap", migrate = false): SwapPlan {
  return { kind, migrate, changes: [], phases: {}, startedAt: 0 };
}

/** A slot context over `backend` that records faults and probation verdicts; no persistence. */
export function fakeContext(backend: FakeBackend, overrides: Partial<SlotContext> = {}): SlotContext & { readonly faults: FaultEvent[]; readonly rollbacks: string[] } {
  const faults: FaultEvent[] = [];
  const rollbacks: string[] = [];
  return {
    backend,
    checkpointEvery: 1000,
    checkpointIntervalMs: 1e9,
    quarantineAfter: 3,
    probation: undefined,
    historySize: 5,
    metrics: { events: () => undefined, error: () => undefined, checkpoint: () => undefined },
    persistence: undefined,
    fault: (fault) => void faults.push(fault),
    storage: () => undefined,
    versionsChanged: () => undefined,
    probationFailed: (reason) => void rollbacks.push(reason),
    ...overrides,
    faults,
    rollbacks,
  };
}

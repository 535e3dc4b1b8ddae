/**
 * A pool of sandbox processes behind one SandboxBackend port, so that mods use more than one core.
 * Each member is a ProcessBackend (its own child, queue, watchdog and restart). A mod is placed on
 * the member with the fewest mods the first time it starts and stays there, so requests to
 * different members run in parallel. A member's crash loses only its own instances: the pool's
 * `generation` never grows, and a request naming an instance of a member's earlier process answers
 * "disposed", which makes that slot (and only it) restore itself. A mod that crashes its shared
 * process repeatedly is moved to a process of its own, so one hostile mod does not make every
 * other mod replay its journal. One warm spare (backends/shared-spare.ts) serves the shared
 * members: whichever crashes first takes it.
 */
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { throwCollected } from "../util/collected-errors.js";
import type { AdoptInit, CommitMode, CrashInfo, HotSpot, LocateRequest, RestoreOutcome, RestoreRequest, SandboxBackend, StartedInstance, StateInit } from "../sandbox/sandbox-backend.js";
import type { SandboxOutcome } from "../sandbox/sandbox-outcome.js";
import type { DispatchResult, LoadSpec, ModShape, SandboxBridge, StateSnapshot, WireEvent } from "../model/wire.js";
import { ProcessBackend } from "./process-backend.js";
import { locateInChild } from "./locator-process.js";
import type { ProcessBackendOptions } from "./process-backend-options.js";
import { SharedSpare } from "./shared-spare.js";

/** When a mod that crashed its shared process is moved to a process of its own. */
export interface IsolationPolicy {
  /** Crashes in a row of a shared process with this mod running (default 2)... */
  readonly crashes: number;
  /** ...within this window (ms, default 60 s). */
  readonly windowMs: number;
}

/** Options of the pool. */
export interface ProcessPoolOptions {
  /** Shared sandbox processes (at least 1); processes of their own for repeated crashers come on top. */
  readonly processes: number;
  /** Each member's options; `warmSpare` and `spareIsolates` describe the one spare of the pool. */
  readonly member: ProcessBackendOptions;
  readonly isolation?: IsolationPolicy;
}

/** A mod moved to a sandbox process of its own. */
export interface IsolatedMod {
  readonly mod: string;
  /** Its crashes of the shared process within the window. */
  readonly crashes: number;
  readonly message: string;
}

const DEFAULT_ISOLATION: IsolationPolicy = { crashes: 2, windowMs: 60_000 };

/** One sandbox process of the pool (a ProcessBackend) and what is placed on it. */
interface Member {
  readonly index: number;
  readonly ready: Promise<ProcessBackend>;
  backend: ProcessBackend | undefined;
  /** Mods placed here (for least-loaded placement). */
  readonly mods: Set<string>;
  /** Pool ids of the instances that live here. */
  readonly instances: Set<string>;
  /** The one mod of a member started for a repeated crasher. */
  readonly dedicatedTo: string | undefined;
}

/** An instance as the pool knows it: the member's process generation it lives in. */
interface Placed {
  readonly member: Member;
  readonly backend: ProcessBackend;
  readonly inner: string;
  readonly generation: number;
  readonly mod: string;
}

/** Runs mods in several supervised sandbox processes (see the file comment). */
export class ProcessPool implements SandboxBackend {
  readonly kind = "process";
  /**
   * Never grows: a member's crash does not take every instance with it. Instances of a crashed
   * member answer "disposed" instead, and their slots restore from that.
   */
  readonly generation = 1;
  readonly #bridge: SandboxBridge;
  readonly #options: ProcessPoolOptions;
  readonly #isolation: IsolationPolicy;
  readonly #members: Member[] = [];
  /** Which member each mod was placed on (stable for the pool's life). */
  readonly #placement = new Map<string, Member>();
  readonly #instances = new Map<string, Placed>();
  /** Recent crashes in a row each mod caused in a shared member (ms timestamps). */
  readonly #crashes = new Map<string, number[]>();
  readonly #crashListeners: ((info: CrashInfo) => void)[] = [];
  readonly #isolatedListeners: ((event: IsolatedMod) => void)[] = [];
  #spare: SharedSpare | undefined;
  #launches = 0;
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(bridge: SandboxBridge, options: ProcessPoolOptions) {
    this.#bridge = bridge;
    this.#options = options;
    this.#isolation = options.isolation ?? DEFAULT_ISOLATION;
  }

  /** Starts `processes` sandbox processes and waits until all are ready; then the shared spare. */
  static async create(bridge: SandboxBridge, options: ProcessPoolOptions): Promise<ProcessPool> {
    if (!Number.isInteger(options.processes) || options.processes < 1) throw new ModhostError("E_OPTIONS_INVALID", `a sandbox pool needs at least one process, got ${options.processes}`, { field: "sandboxProcesses" });
    const pool = new ProcessPool(bridge, options);
    if (options.member.warmSpare !== false) {
      pool.#spare = new SharedSpare({ nextLaunch: () => ++pool.#launches, liveMods: () => pool.#instances.size, liveSpecs: () => pool.#sharedSpecs(), closing: () => pool.#closing, predictableGc: options.member.predictableGc === true }, options.member.spareIsolates);
    }
    for (let i = 0; i < options.processes; i++) pool.#addMember(undefined);
    try {
      await Promise.all(pool.#members.map((m) => m.ready));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** The pids of the sandbox processes, shared members first (for diagnostics and crash tests). */
  get pids(): number[] {
    const pids: number[] = [];
    for (const member of this.#members) if (member.backend?.pid !== undefined) pids.push(member.backend.pid);
    return pids;
  }

  /** The first member's pid. */
  get pid(): number | undefined {
    return this.#members[0]?.backend?.pid;
  }

  /** The pid of the sandbox process a mod is placed on (undefined before it first started). */
  pidOf(mod: string): number | undefined {
    return this.#placement.get(mod)?.backend?.pid;
  }

  /** The shared spare's pid, once one is started. */
  get sparePid(): number | undefined {
    return this.#spare?.child?.pid;
  }

  get spareReady(): boolean {
    return this.#spare?.ready ?? false;
  }

  onCrash(listener: (info: CrashInfo) => void): void {
    this.#crashListeners.push(listener);
  }

  /** Called when a repeated crasher is moved to a sandbox process of its own. */
  onIsolated(listener: (event: IsolatedMod) => void): void {
    this.#isolatedListeners.push(listener);
  }

  async start(spec: LoadSpec, seed: readonly number[], init: StateInit): Promise<SandboxOutcome<StartedInstance>> {
    const placed = await this.#member(spec.name);
    if (!("backend" in placed)) return placed;
    const started = await placed.backend.start(spec, seed, init);
    return started.kind === "ok" ? { kind: "ok", value: this.#adopt(placed.member, placed.backend, spec.name, started.value) } : started;
  }

  /** A restore goes to the mod's member like a start: the restores of one member's crash travel in one frame. */
  async restore(request: RestoreRequest): Promise<RestoreOutcome> {
    const placed = await this.#member(request.spec.name);
    if (!("backend" in placed)) return { kind: "start-failed", start: placed };
    const restored = await placed.backend.restore(request);
    return restored.kind === "ok" ? { kind: "ok", value: this.#adopt(placed.member, placed.backend, request.spec.name, restored.value) } : restored;
  }

  /** The member a mod runs on, once its process is ready; "lost" when a process of its own could not start. */
  async #member(mod: string): Promise<{ readonly member: Member; readonly backend: ProcessBackend } | { readonly kind: "lost"; readonly error: { readonly code: "E_SANDBOX_UNAVAILABLE"; readonly message: string } }> {
    if (this.#closing) throw new ModhostError("E_HOST_CLOSED", "the sandbox is closed");
    const member = this.#place(mod);
    try {
      return { member, backend: await member.ready };
    } catch (err) {
      // A process of its own that could not start: the mod goes back to a shared one and the
      // caller starts again ("lost" blames nobody).
      return { kind: "lost", error: { code: "E_SANDBOX_UNAVAILABLE", message: messageOf(err) } };
    }
  }

  /** Registers an instance a member started; its pool id. */
  #adopt(member: Member, backend: ProcessBackend, mod: string, started: StartedInstance): StartedInstance {
    const id = `${member.index}.${started.id}`;
    // The reply came from the live process, and nothing ran since: this is its generation.
    this.#instances.set(id, { member, backend, inner: started.id, generation: backend.generation, mod });
    member.instances.add(id);
    return { ...started, id };
  }

  dispatch(id: string, events: readonly WireEvent[], replay: boolean): Promise<DispatchResult> {
    const placed = this.#live(id);
    if (placed === undefined) return Promise.resolve({ results: [], stop: "disposed" });
    const out = placed.backend.dispatch(placed.inner, events, replay);
    if (replay || !this.#crashes.has(placed.mod)) return out;
    // Crashes count in a row, as quarantine does: a mod that runs its next events (not a replay of
    // old ones) to the end was not the cause, e.g. its event was merely first to reach a process
    // that had already been killed from outside.
    return out.then((result) => {
      if (result.stop === undefined && result.results.length > 0) this.#crashes.delete(placed.mod);
      return result;
    });
  }

  exportState(id: string): Promise<SandboxOutcome<StateSnapshot>> {
    const placed = this.#live(id);
    return placed === undefined ? Promise.resolve({ kind: "disposed" }) : placed.backend.exportState(placed.inner);
  }

  stage(id: string, spec: LoadSpec): Promise<SandboxOutcome<ModShape>> {
    const placed = this.#live(id);
    return placed === undefined ? Promise.resolve({ kind: "disposed" }) : placed.backend.stage(placed.inner, spec);
  }

  commit(id: string, mode: CommitMode): Promise<SandboxOutcome<void>> {
    const placed = this.#live(id);
    return placed === undefined ? Promise.resolve({ kind: "disposed" }) : placed.backend.commit(placed.inner, mode);
  }

  /** False once the instance's member crashed (the pool's generation never grows). */
  holds(id: string): boolean {
    return this.#live(id) !== undefined;
  }

  async abortStaged(id: string): Promise<void> {
    const placed = this.#live(id);
    if (placed !== undefined) await placed.backend.abortStaged(placed.inner);
  }

  adopt(id: string, init: AdoptInit): Promise<SandboxOutcome<void>> {
    const placed = this.#live(id);
    return placed === undefined ? Promise.resolve({ kind: "disposed" }) : placed.backend.adopt(placed.inner, init);
  }

  async heap(id: string): Promise<{ usedBytes: number; limitBytes: number } | undefined> {
    const placed = this.#live(id);
    return placed === undefined ? undefined : placed.backend.heap(placed.inner);
  }

  /** Locates on the member the mod is placed on (its crash then counts where the mod's would). */
  async locate(request: LocateRequest): Promise<HotSpot | null> {
    if (this.#closing) return null;
    // In a process of its own, not on a member: the profiled replay can crash its process (backends/locator-process.ts).
    return locateInChild(request);
  }

  async stop(id: string): Promise<void> {
    const placed = this.#live(id);
    this.#forget(id);
    if (placed !== undefined) await placed.backend.stop(placed.inner);
  }

  /** Ends every member and the spare (members being started included). Idempotent. */
  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= (async () => {
      const errors: unknown[] = [];
      const closing = this.#members.map((m) =>
        m.ready.then(
          (backend) => backend.close(),
          // A member that never started has nothing to close; its failure was reported to its caller.
          () => undefined,
        ),
      );
      for (const result of await Promise.allSettled([...closing, this.#spare?.close()])) if (result.status === "rejected") errors.push(result.reason);
      throwCollected(errors, "closing the sandbox pool");
    })();
    return this.#closed;
  }

  /** The live versions of the shared members (those the shared spare may replace). */
  #sharedSpecs(): Map<string, LoadSpec> {
    const out = new Map<string, LoadSpec>();
    for (const member of this.#members) {
      if (member.dedicatedTo !== undefined || member.backend === undefined) continue;
      for (const [key, spec] of member.backend.liveSpecs()) out.set(key, spec);
    }
    return out;
  }

  /** Starts a member: a shared one, or one of its own for `dedicatedTo`. */
  #addMember(dedicatedTo: string | undefined): Member {
    // A repeated crasher's own process does not take the shared spare: its next crash pays a boot,
    // and the spare stays ready for the members that hold everyone else.
    const spareOptions = dedicatedTo === undefined && this.#spare !== undefined ? { sharedSpare: this.#spare } : { warmSpare: false };
    const ready = ProcessBackend.create(this.#bridge, { ...this.#options.member, ...spareOptions, nextLaunch: () => ++this.#launches });
    const member: Member = { index: this.#members.length, ready, backend: undefined, mods: new Set(), instances: new Set(), dedicatedTo };
    this.#members.push(member);
    ready.then(
      (backend) => {
        member.backend = backend;
        backend.onCrash((info) => this.#onMemberCrash(member, backend, info));
      },
      () => {
        // Back to a shared member for the next start (the failure went to the start that waited).
        if (dedicatedTo !== undefined && this.#placement.get(dedicatedTo) === member) this.#placement.delete(dedicatedTo);
      },
    );
    return member;
  }

  /** The member a mod runs on: where it was placed, else the shared member with the fewest mods. */
  #place(mod: string): Member {
    const placed = this.#placement.get(mod);
    if (placed !== undefined) return placed;
    let best: Member | undefined;
    for (const member of this.#members) {
      if (member.dedicatedTo !== undefined) continue;
      if (best === undefined || member.mods.size < best.mods.size) best = member;
    }
    // Shared members are made first and never removed.
    const chosen = best as Member;
    chosen.mods.add(mod);
    this.#placement.set(mod, chosen);
    return chosen;
  }

  /** The instance behind a pool id, if its member's process still has it. */
  #live(id: string): Placed | undefined {
    const placed = this.#instances.get(id);
    if (placed === undefined || placed.backend.generation === placed.generation) return placed;
    this.#forget(id);
    return undefined;
  }

  #forget(id: string): void {
    const placed = this.#instances.get(id);
    if (placed === undefined) return;
    this.#instances.delete(id);
    placed.member.instances.delete(id);
  }

  /** A member's process died (and was restarted): its instances are gone; the culprit may be moved. */
  #onMemberCrash(member: Member, backend: ProcessBackend, info: CrashInfo): void {
    let culpritId: string | undefined;
    let culpritMod: string | undefined;
    for (const id of [...member.instances]) {
      const placed = this.#instances.get(id);
      if (placed !== undefined && placed.inner === info.culprit) {
        culpritId = id;
        culpritMod = placed.mod;
      }
      if (placed === undefined || placed.generation !== backend.generation) this.#forget(id);
    }
    // A start names its mod, not an instance.
    if (culpritMod === undefined && info.culprit !== undefined && this.#placement.get(info.culprit) === member) culpritMod = info.culprit;
    const translated: CrashInfo = culpritId === undefined ? info : { ...info, culprit: culpritId };
    for (const listener of this.#crashListeners) listener(translated);
    if (culpritMod !== undefined) this.#noteCrash(culpritMod, member);
  }

  /** Counts a crash against the mod; the repeated crasher of a shared process gets one of its own. */
  #noteCrash(mod: string, member: Member): void {
    // Alone already: nobody else replays because of it.
    if (member.dedicatedTo !== undefined || member.mods.size <= 1 || this.#closing) return;
    const now = Date.now();
    const recent = [...(this.#crashes.get(mod) ?? []).filter((t) => now - t < this.#isolation.windowMs), now];
    if (recent.length < this.#isolation.crashes) {
      this.#crashes.set(mod, recent);
      return;
    }
    this.#crashes.delete(mod);
    member.mods.delete(mod);
    const own = this.#addMember(mod);
    own.mods.add(mod);
    this.#placement.set(mod, own);
    const event: IsolatedMod = {
      mod,
      crashes: recent.length,
      message: `mod ${mod} crashed its sandbox process ${recent.length} times within ${Math.round(this.#isolation.windowMs / 1000)} s: it now runs in a sandbox process of its own, so that the other mods do not restore after its crashes`,
    };
    for (const listener of this.#isolatedListeners) listener(event);
  }
}

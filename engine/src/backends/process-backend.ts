import { ModhostError } from "../errors/modhost-error.js";
import type { AdoptInit, CommitMode, CrashInfo, HotSpot, LocateRequest, RestoreOutcome, RestoreRequest, SandboxBackend, StartedInstance, StateInit } from "../sandbox/sandbox-backend.js";
import type { SandboxOutcome } from "../sandbox/sandbox-outcome.js";
import type { DispatchResult, LoadSpec, ModShape, SandboxBridge, StateSnapshot, WireEvent } from "../model/wire.js";
import { decodeResultList } from "../model/result-list.js";
import { SandboxProcess, type SandboxProcessListener } from "./sandbox-process.js";
import type { ProcessBackendOptions } from "./process-backend-options.js";
import { encodeCapabilityAnswer, type HeapFigures, type ReplyOf, type RequestBody, type RequestOp, type SandboxMessage } from "./sandbox-protocol.js";
import { RequestQueue, isCrash, type Crashed, type Pending } from "./request-queue.js";
import { performance } from "node:perf_hooks";
import { CpuWatchdog, DEFAULT_WATCHDOG_BACKSTOP_FACTOR } from "./cpu-watchdog.js";
import { ProcessSpare } from "./process-spare.js";
import { LiveSpecs } from "./live-specs.js";
import { RequestWatchdog } from "./request-watchdog.js";
import { RequestBudgets, restoredSpec } from "./request-budgets.js";
import { locateInChild } from "./locator-process.js";

/**
 * Runs isolates in a supervised child process. The requests made in one turn of the event loop
 * travel as one frame (each event once, however many mods get it) and are answered in order, as
 * one frame when they have all run. When the process dies, the request its progress record names
 * was running (its mod is the culprit) and the other unanswered ones were merely lost, those that
 * ran before it included (their replies went down with the process, and so did their isolates'
 * state). A request that overruns its time budget plus a grace period gets the process killed. The process is
 * restarted at once; every instance is gone and `generation` grows, so that owners bring their mods back from their checkpoints.
 */
export class ProcessBackend implements SandboxBackend {
  readonly kind = "process";
  #generation = 0;
  #child: SandboxProcess | undefined;
  /** The unanswered requests, sent to the live process a frame per turn (backends/request-queue.ts). */
  readonly #queue: RequestQueue;
  readonly #watchdog: RequestWatchdog;
  /** The live process's CPU clock for the watchdog (backends/cpu-watchdog.ts). */
  #cpu: CpuWatchdog | undefined;
  /** Processes started, spares included (each gets its number for instance ids). */
  #launches = 0;
  #spare: ProcessSpare | undefined;
  #closing = false;
  #recentCrashes: number[] = [];
  readonly #bridge: SandboxBridge;
  readonly #options: ProcessBackendOptions;
  readonly #crashListeners: ((info: CrashInfo) => void)[] = [];
  /** Time limit of each live instance, for request budgets. */
  readonly #timeouts = new Map<string, number>();
  /** The version each live instance would be restored with: what a spare preloads. */
  readonly #specs = new LiveSpecs();
  /** Time limit of the version staged in an instance, which becomes its limit on commit. */
  readonly #staged = new Map<string, number>();
  readonly #budgets: RequestBudgets;

  private constructor(bridge: SandboxBridge, options: ProcessBackendOptions) {
    this.#bridge = bridge;
    this.#options = options;
    this.#budgets = new RequestBudgets(options.wallBackstopFactor);
    this.#queue = new RequestQueue({ child: () => this.#child, armWatchdog: () => this.#watchdog.arm() });
    this.#watchdog = new RequestWatchdog(options.graceMs, {
      head: () => this.#queue.head,
      running: () => this.#runningRequest(),
      outputBytes: () => this.#child?.outputBytes ?? 0,
      blockedWritingMs: () => this.#child?.blockedWritingMs() ?? 0,
      clock: () => this.#cpu,
      kill: (reason) => {
        this.#child?.note(reason);
        this.#child?.kill();
      },
    }, options.wallBackstopFactor ?? DEFAULT_WATCHDOG_BACKSTOP_FACTOR);
  }

  /** Starts the sandbox process and waits until it is ready; then a warm spare (backends/process-spare.ts). */
  static async create(bridge: SandboxBridge, options: ProcessBackendOptions): Promise<ProcessBackend> {
    const backend = new ProcessBackend(bridge, options);
    await backend.#spawn();
    if (options.warmSpare !== false && options.sharedSpare === undefined) {
      backend.#spare = new ProcessSpare(
        { launch: () => backend.#launch(true), liveMods: () => backend.#timeouts.size, liveSpecs: () => backend.liveSpecs(), closing: () => backend.#closing },
        options.spareIsolates,
      );
    }
    return backend;
  }

  get generation(): number {
    return this.#generation;
  }

  /** The sandbox process's pid (for diagnostics and crash tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The spare sandbox process's pid, once one is started (for diagnostics and tests). */
  get sparePid(): number | undefined {
    return this.#spare?.child?.pid;
  }

  /** Request frames sent to and reply frames read from the sandbox processes so far. */
  get frames(): { readonly sent: number; readonly received: number } {
    return this.#queue.frames;
  }

  /** The versions of the live instances, by spec key: what a spare loads ahead of the restores. */
  liveSpecs(): Map<string, LoadSpec> {
    return this.#specs.byKey();
  }

  /** Is a spare sandbox process ready to take over? */
  get spareReady(): boolean {
    return this.#spare?.ready ?? false;
  }

  onCrash(listener: (info: CrashInfo) => void): void {
    this.#crashListeners.push(listener);
  }

  async start(spec: LoadSpec, seed: readonly number[], init: StateInit): Promise<SandboxOutcome<StartedInstance>> {
    const reply = await this.#request("start", { spec, seed, init }, this.#budgets.start(spec.callTimeoutMs));
    if (isCrash(reply)) {
      return { kind: reply.culprit ? "crashed" : "lost", error: { code: "E_SANDBOX_CRASHED", message: "the sandbox process died while the mod was starting" } };
    }
    if (reply.kind === "ok") {
      this.#timeouts.set(reply.value.id, spec.callTimeoutMs);
      this.#specs.started(reply.value.id, spec);
      this.#spare?.started(spec.memoryMb);
      this.#options.sharedSpare?.started(spec.memoryMb);
    }
    return reply;
  }

  async restore(request: RestoreRequest): Promise<RestoreOutcome> {
    const reply = await this.#request("restore", request, this.#budgets.restore(request));
    if (isCrash(reply)) {
      return { kind: "start-failed", start: { kind: reply.culprit ? "crashed" : "lost", error: { code: "E_SANDBOX_CRASHED", message: "the sandbox process died while the mod was restoring" } } };
    }
    if (reply.kind === "ok") {
      const live = restoredSpec(request);
      this.#timeouts.set(reply.value.id, live.callTimeoutMs);
      this.#specs.started(reply.value.id, live);
      this.#spare?.started(request.spec.memoryMb);
      this.#options.sharedSpare?.started(request.spec.memoryMb);
    }
    return reply;
  }

  async dispatch(id: string, events: readonly WireEvent[], replay: boolean): Promise<DispatchResult> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { results: [], stop: "disposed" };
    const budget = this.#budgets.dispatch(timeout, events.length);
    const reply = await this.#request("dispatch", { instance: id, events, replay }, budget);
    if (isCrash(reply)) return { results: [], stop: reply.culprit ? "crashed" : "lost" };
    return { ...reply, results: decodeResultList(reply.results) };
  }

  async exportState(id: string): Promise<SandboxOutcome<StateSnapshot>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const reply = await this.#request("export", { instance: id }, this.#budgets.exportState(timeout));
    return isCrash(reply) ? { kind: "disposed" } : reply;
  }

  async stage(id: string, spec: LoadSpec): Promise<SandboxOutcome<ModShape>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed", error: { code: "E_INTERNAL", message: "the instance is gone" } };
    const reply = await this.#request("stage", { instance: id, spec }, this.#budgets.start(spec.callTimeoutMs));
    if (isCrash(reply)) return { kind: reply.culprit ? "crashed" : "lost", error: { code: "E_SANDBOX_CRASHED", message: "the sandbox process died while the new version was loading" } };
    if (reply.kind === "ok") {
      this.#staged.set(id, spec.callTimeoutMs);
      this.#specs.staged(id, spec);
    }
    return reply;
  }

  async commit(id: string, mode: CommitMode): Promise<SandboxOutcome<void>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const staged = this.#staged.get(id) ?? timeout;
    // Requests sent behind an unanswered commit run on the new version if it goes through (the
    // host does not wait for a handover: slot/swap-transaction.ts): they get the longer limit.
    this.#timeouts.set(id, Math.max(timeout, staged));
    const reply = await this.#request("commit", { instance: id, mode }, this.#budgets.commit(mode, staged));
    if (isCrash(reply)) return { kind: "disposed" };
    // Unless the instance went meanwhile (its entry then stays gone).
    if (this.#timeouts.has(id)) this.#timeouts.set(id, reply.kind === "ok" ? staged : timeout);
    if (reply.kind === "ok") {
      // A new live version: the spare preloads it in place of the old one.
      this.#spare?.started();
      this.#options.sharedSpare?.started();
    }
    this.#staged.delete(id);
    this.#specs.committed(id, reply.kind === "ok");
    return reply;
  }

  async adopt(id: string, init: AdoptInit): Promise<SandboxOutcome<void>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const reply = await this.#request("adopt", { instance: id, init }, this.#budgets.start(timeout));
    return isCrash(reply) ? { kind: "disposed" } : reply;
  }

  /** A crash takes every instance and grows `generation`: an id of this generation is held. */
  holds(_id: string): boolean {
    return true;
  }

  async abortStaged(id: string): Promise<void> {
    this.#staged.delete(id);
    this.#specs.committed(id, false);
    if (!this.#timeouts.has(id)) return;
    await this.#request("abort", { instance: id }, 100);
  }

  async heap(id: string): Promise<HeapFigures | undefined> {
    if (!this.#timeouts.has(id)) return undefined;
    const reply = await this.#request("heap", { instance: id }, 100);
    return isCrash(reply) ? undefined : (reply ?? undefined);
  }

  async locate(request: LocateRequest): Promise<HotSpot | null> {
    if (this.#closing) return null;
    // In a process of its own: the profiled replay can crash its process (backends/locator-process.ts).
    return locateInChild(request);
  }

  async stop(id: string): Promise<void> {
    this.#specs.stopped(id);
    if (!this.#timeouts.delete(id)) return;
    await this.#request("stop", { instance: id }, 1000);
  }

  /** Ends the sandbox process: asks it to exit, then kills it if it does not. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return this.#child?.exitedPromise;
    this.#closing = true;
    this.#watchdog.clear();
    const spareClosed = this.#spare?.close();
    await Promise.all([this.#child?.stop(), spareClosed]);
    // Requests made while a restart was backing off never reached a process: answer them now.
    for (const pending of this.#queue.takeAll()) pending.settle({ t: "crash", culprit: false });
  }

  /** Queues a request of kind `op`; resolves with the reply the protocol map gives it, or a crash. */
  #request<K extends RequestOp>(op: K, body: RequestBody<K>, budgetMs: number): Promise<ReplyOf<K> | Crashed> {
    if (this.#closing) return Promise.reject(new ModhostError("E_HOST_CLOSED", "the sandbox is closed"));
    return this.#queue.request(op, body, budgetMs);
  }

  /** The pending request the live process's progress record names (it is running it), if any. */
  #runningRequest(): Pending | undefined {
    const id = this.#child?.runningRequest();
    return id === undefined ? undefined : this.#queue.byId(id);
  }

  #spawn(): Promise<void> {
    const { child, ready } = this.#launch(false);
    this.#makeLive(child);
    return ready.then(() => this.#queue.flush());
  }

  /** Makes a process the live one: a new generation, and the watchdog's CPU clock follows it. */
  #makeLive(child: SandboxProcess): void {
    this.#generation++;
    this.#child = child;
    this.#cpu?.close();
    this.#cpu = child.pid === undefined ? undefined : new CpuWatchdog(child.pid, this.#options.wallBackstopFactor ?? DEFAULT_WATCHDOG_BACKSTOP_FACTOR);
  }

  /** Starts a sandbox process (live or spare); `prewarm` warms it up before it says ready. */
  #launch(prewarm: boolean): { readonly child: SandboxProcess; readonly ready: Promise<void> } {
    let child: SandboxProcess | undefined;
    const started = SandboxProcess.start(this.#options.nextLaunch?.() ?? ++this.#launches, this.#listener(() => child), prewarm, this.#options.predictableGc === true);
    child = started.child;
    return started;
  }

  /** What a process of this backend tells it; `child()` is that process once it exists. */
  #listener(child: () => SandboxProcess | undefined): SandboxProcessListener {
    return {
      message: (message) => {
        const c = child();
        if (c !== undefined) this.#onMessage(c, message);
      },
      protocolError: (error) => {
        const c = child();
        if (c !== undefined) this.#onProtocolError(c, error);
      },
      exit: (code, signal) => {
        const c = child();
        if (c === undefined) return;
        this.#spare?.exited(c);
        this.#onExit(c, code, signal);
      },
    };
  }

  /** A ready spare (this backend's own, or the shared one), or undefined. */
  #takeSpare(): SandboxProcess | undefined {
    const own = this.#spare?.take();
    if (own !== undefined || this.#options.sharedSpare === undefined) return own;
    let taken: SandboxProcess | undefined;
    taken = this.#options.sharedSpare.take(this.#listener(() => taken));
    return taken;
  }

  #onMessage(child: SandboxProcess, message: Exclude<SandboxMessage, { t: "ready" }>): void {
    // A spare says nothing but "ready" until it is taken; anything else from a process that is
    // not the live one is ignored.
    if (child !== this.#child) return;
    switch (message.t) {
      case "log":
        this.#bridge.log(message.mod, message.level, message.message);
        return;
      case "cap": {
        const started = performance.now();
        const answer = this.#bridge.capability(message.call);
        const head = this.#queue.head;
        if (head !== undefined) head.capabilityMs += performance.now() - started;
        child.answerCapability(encodeCapabilityAnswer(answer));
        return;
      }
      case "res": {
        this.#queue.frameReceived();
        for (const reply of message.replies) {
          let settled: Pending;
          try {
            settled = this.#queue.settleHead(reply);
          } catch (err) {
            // A reply out of order or of the wrong shape: the protocol is broken.
            if (!(err instanceof ModhostError)) throw err;
            this.#onProtocolError(child, err);
            return;
          }
          if (settled.request.op === "stop" && "instance" in settled.request.body) this.#timeouts.delete(settled.request.body.instance);
        }
        this.#watchdog.arm();
        return;
      }
    }
  }

  /** The process sent something the protocol does not allow: restart it (its requests count as lost to a crash). */
  #onProtocolError(child: SandboxProcess, error: ModhostError): void {
    child.note(`[${error.code}] ${error.message}`);
    child.kill();
  }

  #onExit(child: SandboxProcess, exitCode: number | null, signal: string | null): void {
    if (child !== this.#child) return;
    this.#watchdog.clear();
    this.#cpu?.close();
    this.#cpu = undefined;
    const pending = this.#queue.takeAll();
    this.#timeouts.clear();
    this.#staged.clear();
    this.#specs.clear();
    // The request the progress record names was running; with none pending, the first was (it
    // had not begun, or its record was not yet written: blamed as before frames were batched).
    const running = child.runningRequest();
    const culpritAt = Math.max(0, pending.findIndex((p) => p.request.id === running));
    const head = pending[culpritAt]?.request.body;
    const culprit = head === undefined ? undefined : "instance" in head ? head.instance : "spec" in head ? head.spec.name : undefined;
    if (this.#closing) {
      for (const p of pending) p.settle({ t: "crash", culprit: false });
      return;
    }
    const info: CrashInfo = { exitCode, signal, stderrTail: child.stderrTail, ...(culprit !== undefined ? { culprit } : {}) };
    // Restart first, so that owners reacting to the crash find a live process; back off when the
    // process keeps dying (3 crashes within a second), so a broken sandbox cannot spin the CPU.
    const now = Date.now();
    this.#recentCrashes = [...this.#recentCrashes.filter((t) => now - t < 1000), now];
    const delayMs = this.#recentCrashes.length >= 3 ? Math.min(5000, 100 * 2 ** (this.#recentCrashes.length - 3)) : 0;
    // A ready warm spare becomes the live process at once: no Node boot on the recovery path.
    const spare = delayMs === 0 ? this.#takeSpare() : undefined;
    if (spare !== undefined) {
      this.#makeLive(spare);
      this.#queue.flush();
    }
    const restarted =
      spare !== undefined
        ? Promise.resolve()
        : delayMs === 0
          ? this.#spawn()
          : new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => (this.#closing ? undefined : this.#spawn()));
    pending.forEach((p, index) => p.settle({ t: "crash", culprit: index === culpritAt }));
    for (const listener of this.#crashListeners) listener(info);
    restarted.catch((err: unknown) => {
      for (const listener of this.#crashListeners) listener({ exitCode: null, signal: null, stderrTail: String(err) });
    });
  }
}

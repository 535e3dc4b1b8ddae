import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { ModhostError } from "../errors/modhost-error.js";
import type { StateOutcome } from "../sandbox/mod-instance.js";
import type { CommitMode, CrashInfo, SandboxBackend, StageResult, StartResult, StateInit } from "../sandbox/sandbox-backend.js";
import type { DispatchResult, LoadSpec, SandboxBridge, StateSnapshot, WireEvent, WireResult } from "../model/wire.js";
import { packagePath } from "../util/package-path.js";
import { trackResource } from "../util/resource-registry.js";
import { FrameDecoder, encodeFrame } from "./framing.js";
import { encodeCapabilityAnswer, type SandboxMessage, type SandboxRequest } from "./protocol.js";
import { performance } from "node:perf_hooks";
import { CpuWatchdog, DEFAULT_WATCHDOG_BACKSTOP_FACTOR } from "./cpu-watchdog.js";
import { WarmSpare } from "./warm-spare.js";
import { DEFAULT_WALL_BACKSTOP_FACTOR, backstopWallMs } from "../sandbox/cpu-budget.js";

/** Options of the supervisor. */
export interface ProcessBackendOptions {
  /** Extra time past a request's own limits before the sandbox process is presumed wedged. */
  readonly graceMs: number;
  /**
   * The watchdog charges a request its wall time minus the time the sandbox waited for a CPU;
   * past this many times its budget of wall time it is killed however starved (default 10).
   */
  readonly wallBackstopFactor?: number;
  /** Keep a spare sandbox process ready to take over after a crash (default true). */
  readonly warmSpare?: boolean;
  /**
   * Isolates the spare makes ahead of need, one per live mod up to this many (default 128; each
   * costs about 1.2 MB in the spare while it waits). 0 makes none.
   */
  readonly spareIsolates?: number;
}

interface Pending {
  readonly request: SandboxRequest;
  readonly budgetMs: number;
  /** Time the host spent answering this request's capability calls (ms): the watchdog adds it. */
  capabilityMs: number;
  /** How much of capabilityMs the watchdog has already added. */
  creditedMs: number;
  readonly resolve: (message: SandboxMessage | { t: "crash"; culprit: boolean }) => void;
}

type Distribute<T> = T extends unknown ? Omit<T, "id"> : never;

/** One running sandbox process and its pipes. */
interface Child {
  readonly process: ChildProcess;
  readonly toChild: Writable;
  readonly capabilityReplies: Writable;
  readonly generation: number;
  stderrTail: string;
  exited: boolean;
  readonly exitedPromise: Promise<void>;
  readonly untrack: () => void;
  /** w17-cpu: the CPU-following watchdog clock of this process. */
  readonly cpu: CpuWatchdog | undefined;
  /** w17-cpu: has it said "ready"? */
  ready: boolean;
  /** w17-cpu: isolates this process (a spare) was asked to make ahead of need. */
  pooled: number;
}

/**
 * Runs isolates in a supervised child process. Requests are answered strictly in order, so when
 * the process dies the first unanswered request is the one that was running (its mod is the
 * culprit) and the rest were merely lost. A request that overruns its time budget plus a grace
 * period gets the process killed. The process is restarted at once; every instance is gone and
 * `generation` grows, so that owners bring their mods back from their checkpoints.
 */
export class ProcessBackend implements SandboxBackend {
  readonly kind = "process";
  #generation = 0;
  #child: Child | undefined;
  #pending: Pending[] = [];
  #outbox: SandboxRequest[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #watchdog: NodeJS.Timeout | undefined;
  #watchedId = -1;
  /** When the watched request became the head (performance.now()). */
  #watchedSince = 0;
  #launches = 0;
  #spare: WarmSpare<Child> | undefined;
  #topUpTimer: NodeJS.Timeout | undefined;
  /** Memory limit of the latest started mod: the spare's isolates are made with it. */
  #lastMemoryMb = 32;
  #closing = false;
  #recentCrashes: number[] = [];
  readonly #bridge: SandboxBridge;
  readonly #options: ProcessBackendOptions;
  readonly #crashListeners: ((info: CrashInfo) => void)[] = [];
  /** Time limit of each live instance, for request budgets. */
  readonly #timeouts = new Map<string, number>();
  /** Time limit of the version staged in an instance, which becomes its limit on commit. */
  readonly #staged = new Map<string, number>();

  private constructor(bridge: SandboxBridge, options: ProcessBackendOptions) {
    this.#bridge = bridge;
    this.#options = options;
  }

  /** Starts the sandbox process and waits until it is ready. */
  static async create(bridge: SandboxBridge, options: ProcessBackendOptions): Promise<ProcessBackend> {
    const backend = new ProcessBackend(bridge, options);
    await backend.#spawn();
    // w17-cpu hook: a spare process, started once the first one is up (supervisor/warm-spare.ts).
    if (options.warmSpare !== false) {
      backend.#spare = new WarmSpare<Child>(
        { launch: () => backend.#launch(true), stop: (child) => backend.#stopChild(child) },
        // A new spare waits a second after one was taken: the restores get the CPU first.
        { delayMs: 1000, onReady: () => backend.#topUpSpare() },
      );
      // Not at once: a host that lives a second or two (tests, scripts) never pays for a spare.
      backend.#spare.schedule(1500);
    }
    return backend;
  }

  get generation(): number {
    return this.#generation;
  }

  /** The sandbox process's pid (for diagnostics and crash tests). */
  get pid(): number | undefined {
    return this.#child?.process.pid;
  }

  /** The spare sandbox process's pid, once one is started (for diagnostics and tests). */
  get sparePid(): number | undefined {
    return this.#spare?.child?.process.pid;
  }

  /** Is a spare sandbox process ready to take over? */
  get spareReady(): boolean {
    return this.#spare?.ready ?? false;
  }

  onCrash(listener: (info: CrashInfo) => void): void {
    this.#crashListeners.push(listener);
  }

  async start(spec: LoadSpec, seed: readonly number[], init: StateInit): Promise<StartResult> {
    const reply = await this.#request({ op: "start", spec, seed, init }, spec.callTimeoutMs * 20 + 1000);
    if (reply.t === "crash") {
      return { ok: false, error: { code: "E_SANDBOX_CRASHED", message: "the sandbox process died while the mod was starting" }, stop: reply.culprit ? "crashed" : "lost" };
    }
    const result = (reply as { value: StartResult }).value;
    if (result.ok) {
      this.#timeouts.set(result.id, spec.callTimeoutMs);
      this.#lastMemoryMb = spec.memoryMb;
      this.#scheduleTopUp(); // w17-cpu hook
    }
    return result;
  }

  async dispatch(id: string, events: readonly WireEvent[], replay: boolean): Promise<DispatchResult> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { results: [], stop: "disposed" };
    // w17-cpu hook: plus one call at the wall backstop (the rerun of an event cut while starved
    // may get that much CPU if the machine went idle meanwhile): it must not look like a wedge.
    const perCall = Math.ceil(timeout * 1.1 + 1);
    const reply = await this.#request({ op: "dispatch", instance: id, events, replay }, events.length * perCall + backstopWallMs(perCall, this.#options.wallBackstopFactor ?? DEFAULT_WALL_BACKSTOP_FACTOR));
    if (reply.t === "crash") return { results: [], stop: reply.culprit ? "crashed" : "lost" };
    const out = reply as Extract<SandboxMessage, { t: "out" }>;
    const results = out.results as WireResult[];
    return { results, ...(out.stop !== undefined ? { stop: out.stop } : {}), ...(out.late ? { late: out.late } : {}) };
  }

  async exportState(id: string): Promise<StateOutcome<StateSnapshot>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const reply = await this.#request({ op: "export", instance: id }, timeout * 10);
    if (reply.t === "crash") return { kind: "disposed" };
    return (reply as { value: StateOutcome<StateSnapshot> }).value;
  }

  async stage(id: string, spec: LoadSpec): Promise<StageResult> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { ok: false, error: { code: "E_INTERNAL", message: "the instance is gone" }, stop: "disposed" };
    const reply = await this.#request({ op: "stage", instance: id, spec }, spec.callTimeoutMs * 20 + 1000);
    if (reply.t === "crash") return { ok: false, error: { code: "E_SANDBOX_CRASHED", message: "the sandbox process died while the new version was loading" }, stop: reply.culprit ? "crashed" : "lost" };
    const result = (reply as { value: StageResult }).value;
    if (result.ok) this.#staged.set(id, spec.callTimeoutMs);
    return result;
  }

  async commit(id: string, mode: CommitMode): Promise<StateOutcome<StateSnapshot | null>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const budget = mode.kind === "migrate" ? (this.#staged.get(id) ?? timeout) * 10 : 100;
    const reply = await this.#request({ op: "commit", instance: id, mode }, budget);
    if (reply.t === "crash") return { kind: "disposed" };
    const out = (reply as { value: StateOutcome<StateSnapshot | null> }).value;
    if (out.kind === "ok") this.#timeouts.set(id, this.#staged.get(id) ?? timeout);
    this.#staged.delete(id);
    return out;
  }

  async adopt(id: string, init: Extract<StateInit, { kind: "import" | "migrate" }>): Promise<StateOutcome<void>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const reply = await this.#request({ op: "adopt", instance: id, init }, timeout * 20 + 1000);
    if (reply.t === "crash") return { kind: "disposed" };
    return (reply as { value: StateOutcome<void> }).value;
  }

  async abortStaged(id: string): Promise<void> {
    this.#staged.delete(id);
    if (!this.#timeouts.has(id)) return;
    await this.#request({ op: "abort", instance: id }, 100);
  }

  async heap(id: string): Promise<{ usedBytes: number; limitBytes: number } | undefined> {
    if (!this.#timeouts.has(id)) return undefined;
    const reply = await this.#request({ op: "heap", instance: id }, 100);
    if (reply.t === "crash") return undefined;
    return ((reply as { value: { usedBytes: number; limitBytes: number } | null }).value) ?? undefined;
  }

  async stop(id: string): Promise<void> {
    if (!this.#timeouts.delete(id)) return;
    await this.#request({ op: "stop", instance: id }, 1000);
  }

  /** Ends the sandbox process: asks it to exit, then kills it if it does not. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return this.#child?.exitedPromise;
    this.#closing = true;
    this.#clearWatchdog();
    if (this.#topUpTimer !== undefined) clearTimeout(this.#topUpTimer);
    const spareClosed = this.#spare?.close();
    const child = this.#child;
    if (child === undefined) {
      await spareClosed;
      return;
    }
    await Promise.all([this.#stopChild(child), spareClosed]);
    // Requests made while a restart was backing off never reached a process: answer them now.
    for (const pending of this.#pending.splice(0)) pending.resolve({ t: "crash", culprit: false });
  }

  #request(request: Distribute<SandboxRequest>, budgetMs: number): Promise<SandboxMessage | { t: "crash"; culprit: boolean }> {
    if (this.#closing) return Promise.reject(new ModhostError("E_HOST_CLOSED", "the sandbox is closed"));
    const full = { ...request, id: this.#nextId++ } as SandboxRequest;
    return new Promise((resolve) => {
      this.#pending.push({ request: full, budgetMs, capabilityMs: 0, creditedMs: 0, resolve });
      this.#outbox.push(full);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // Requests made in the same turn of the event loop travel in one frame.
        setImmediate(() => this.#flush());
      }
      if (this.#pending.length === 1) this.#armWatchdog();
    });
  }

  #scheduleTopUp(): void {
    if (this.#spare === undefined || this.#topUpTimer !== undefined) return;
    // Starts come in bursts (a host loading its mods, a recovery): top up once after the burst.
    this.#topUpTimer = setTimeout(() => {
      this.#topUpTimer = undefined;
      this.#topUpSpare();
    }, 200);
    this.#topUpTimer.unref();
  }

  /** Asks a ready spare to make isolates ahead of need: one per live mod, up to the cap. */
  #topUpSpare(): void {
    const spare = this.#spare?.ready ? this.#spare.child : undefined;
    if (spare === undefined || spare.exited || this.#closing) return;
    const want = Math.min(this.#options.spareIsolates ?? 128, this.#timeouts.size);
    if (want <= spare.pooled) return;
    const request: SandboxRequest = { op: "pool", id: 0, count: want - spare.pooled, memoryMb: this.#lastMemoryMb };
    spare.pooled = want;
    spare.toChild.write(encodeFrame(JSON.stringify([request])));
  }

  /** Asks a process to end (closing its request pipe), kills it if it does not within 2 s. */
  async #stopChild(child: Child): Promise<void> {
    child.toChild.end();
    const killer = setTimeout(() => child.process.kill("SIGKILL"), 2000);
    await child.exitedPromise;
    clearTimeout(killer);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const child = this.#child;
    if (child === undefined || child.exited || this.#outbox.length === 0) return;
    const batch = this.#outbox;
    this.#outbox = [];
    child.toChild.write(encodeFrame(JSON.stringify(batch)));
  }

  #armWatchdog(): void {
    this.#clearWatchdog();
    const head = this.#pending[0];
    if (head === undefined) return;
    this.#watchedId = head.request.id;
    this.#watchedSince = performance.now();
    this.#child?.cpu?.armed(this.#watchedSince);
    this.#startWatchdog(head.budgetMs + this.#options.graceMs);
  }

  #startWatchdog(ms: number): void {
    this.#watchdog = setTimeout(() => {
      const head = this.#pending[0];
      if (head === undefined || head.request.id !== this.#watchedId) return;
      // Time the host spent answering capability calls is not the sandbox's: extend by it.
      const owed = head.capabilityMs - head.creditedMs;
      if (owed > 0) {
        head.creditedMs = head.capabilityMs;
        this.#startWatchdog(owed);
        return;
      }
      // w17-cpu hook: charge wall time minus the sandbox's wait for a CPU, up to a wall backstop.
      const cpu = this.#child?.cpu;
      if (cpu !== undefined) {
        const more = cpu.remainingMs(this.#watchedSince, head.budgetMs + this.#options.graceMs + head.creditedMs);
        if (more > 0) {
          this.#startWatchdog(Math.max(20, more));
          return;
        }
      }
      this.#child?.process.kill("SIGKILL");
    }, ms);
    this.#watchdog.unref();
  }

  #clearWatchdog(): void {
    if (this.#watchdog !== undefined) clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  #spawn(): Promise<void> {
    this.#generation++;
    const { child, ready } = this.#launch(false);
    this.#child = child;
    return ready.then(() => this.#flush());
  }

  /** w17-cpu: makes a ready spare the live process (the caller checked it is ready). */
  #adoptSpare(child: Child): void {
    this.#generation++;
    this.#child = child;
    this.#flush();
  }

  /** Starts a sandbox process; `prewarm` loads isolated-vm and makes one isolate before "ready". */
  #launch(prewarm: boolean): { child: Child; ready: Promise<void> } {
    const generation = ++this.#launches;
    const env = { ...process.env };
    // Process-wide V8 flags show up inside every isolate: the sandbox gets none but its own.
    delete env.NODE_OPTIONS;
    const args = ["--no-node-snapshot", packagePath("dist/supervisor/sandbox-main.js"), String(generation), ...(prewarm ? ["--prewarm"] : [])];
    const proc = spawn(process.execPath, args, {
      stdio: ["ignore", "ignore", "pipe", "pipe", "pipe", "pipe"],
      env,
      serialization: "json",
    });
    const stdio = proc.stdio as unknown as [null, null, Readable, Writable, Readable, Writable];
    let markExited!: () => void;
    const child: Child = {
      process: proc,
      toChild: stdio[3],
      capabilityReplies: stdio[5],
      generation,
      stderrTail: "",
      exited: false,
      exitedPromise: new Promise<void>((resolve) => (markExited = resolve)),
      untrack: trackResource("sandbox-process"),
      cpu: proc.pid === undefined ? undefined : new CpuWatchdog(proc.pid, this.#options.wallBackstopFactor ?? DEFAULT_WATCHDOG_BACKSTOP_FACTOR),
      ready: false,
      pooled: 0,
    };
    let onReady: (() => void) | undefined;
    let onFailed: ((err: Error) => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFailed = reject;
    });
    stdio[2].setEncoding("utf8");
    stdio[2].on("data", (text: string) => {
      child.stderrTail = (child.stderrTail + text).slice(-4096);
    });
    // Pipe errors (EPIPE after a crash) are expected; the exit handler deals with the crash.
    for (const stream of [stdio[3], stdio[4], stdio[5]]) stream.on("error", () => undefined);
    const decoder = new FrameDecoder((json) => {
      const message = JSON.parse(json) as SandboxMessage;
      if (message.t === "ready") {
        child.ready = true;
        onReady?.();
        return;
      }
      this.#onMessage(child, message);
    });
    stdio[4].on("data", (chunk: Buffer) => decoder.push(chunk));
    proc.on("error", (err) => onFailed?.(new ModhostError("E_SANDBOX_UNAVAILABLE", `cannot start the sandbox process: ${err.message}`, {}, { cause: err })));
    proc.on("exit", (code, signal) => {
      child.exited = true;
      child.untrack();
      child.cpu?.close();
      this.#spare?.exited(child);
      onFailed?.(new ModhostError("E_SANDBOX_UNAVAILABLE", `the sandbox process exited during start-up (code ${code}, signal ${signal}): ${child.stderrTail}`));
      markExited();
      this.#onExit(child, code, signal);
    });
    return {
      child,
      ready: ready.then(() => {
        onFailed = undefined;
      }),
    };
  }

  #onMessage(child: Child, message: SandboxMessage): void {
    // A spare says nothing but "ready" until it is taken; anything else from a stale process is ignored.
    if (child !== this.#child) return;
    switch (message.t) {
      case "log":
        this.#bridge.log(message.mod, message.level, message.message);
        return;
      case "cap": {
        const started = performance.now();
        const answer = this.#bridge.capability(message.call);
        const head = this.#pending[0];
        if (head !== undefined) head.capabilityMs += performance.now() - started;
        child.capabilityReplies.write(encodeFrame(encodeCapabilityAnswer(answer)));
        return;
      }
      case "res":
      case "out": {
        const head = this.#pending.shift();
        if (head === undefined || head.request.id !== message.id) {
          // Out-of-order replies mean the protocol is broken: restart the process.
          child.process.kill("SIGKILL");
          return;
        }
        if (head.request.op === "stop") this.#timeouts.delete(head.request.instance);
        this.#armWatchdog();
        head.resolve(message);
        return;
      }
      case "ready":
        return;
    }
  }

  #onExit(child: Child, exitCode: number | null, signal: string | null): void {
    if (child !== this.#child) return;
    this.#clearWatchdog();
    const pending = this.#pending;
    this.#pending = [];
    this.#outbox = [];
    this.#timeouts.clear();
    this.#staged.clear();
    const head = pending[0]?.request;
    const culprit = head !== undefined && "instance" in head ? head.instance : head?.op === "start" ? `${head.spec.name}` : undefined;
    if (this.#closing) {
      for (const p of pending) p.resolve({ t: "crash", culprit: false });
      return;
    }
    const info: CrashInfo = { exitCode, signal, stderrTail: child.stderrTail, ...(culprit !== undefined ? { culprit } : {}) };
    // Restart first, so that owners reacting to the crash find a live process; back off when the
    // process keeps dying (3 crashes within a second), so a broken sandbox cannot spin the CPU.
    const now = Date.now();
    this.#recentCrashes = [...this.#recentCrashes.filter((t) => now - t < 1000), now];
    const delayMs = this.#recentCrashes.length >= 3 ? Math.min(5000, 100 * 2 ** (this.#recentCrashes.length - 3)) : 0;
    // w17-cpu hook: take the warm spare when one is ready (no Node boot on the recovery path).
    const spare = delayMs === 0 ? this.#spare?.take() : undefined;
    if (spare !== undefined) this.#adoptSpare(spare);
    const restarted =
      spare !== undefined
        ? Promise.resolve()
        : delayMs === 0
          ? this.#spawn()
          : new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => (this.#closing ? undefined : this.#spawn()));
    pending.forEach((p, index) => p.resolve({ t: "crash", culprit: index === 0 }));
    for (const listener of this.#crashListeners) listener(info);
    restarted.catch((err: unknown) => {
      for (const listener of this.#crashListeners) listener({ exitCode: null, signal: null, stderrTail: String(err) });
    });
  }
}

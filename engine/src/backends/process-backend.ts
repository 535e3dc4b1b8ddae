import { ModhostError } from "../errors/modhost-error.js";
import { startResult, stageResult, type AdoptInit, type CommitMode, type CrashInfo, type SandboxBackend, type StageResult, type StartResult, type StateInit } from "../sandbox/sandbox-backend.js";
import type { SandboxOutcome } from "../sandbox/sandbox-outcome.js";
import type { DispatchResult, LoadSpec, SandboxBridge, StateSnapshot, WireEvent } from "../model/wire.js";
import { SandboxProcess } from "./sandbox-process.js";
import { encodeCapabilityAnswer, readReply, type HeapFigures, type ReplyOf, type RequestBody, type RequestOf, type RequestOp, type SandboxMessage } from "./sandbox-protocol.js";
import { performance } from "node:perf_hooks";

/** Options of the process backend. */
export interface ProcessBackendOptions {
  /** Extra time past a request's own limits before the sandbox process is presumed wedged. */
  readonly graceMs: number;
}

/** What a request gets when the sandbox process died before answering it. */
interface Crashed {
  readonly t: "crash";
  /** Was this request the one running (its mod is the culprit), or merely waiting? */
  readonly culprit: boolean;
}

interface Pending {
  readonly request: RequestOf<RequestOp>;
  readonly budgetMs: number;
  /** Time the host spent answering this request's capability calls (ms): the watchdog adds it. */
  capabilityMs: number;
  /** How much of capabilityMs the watchdog has already added. */
  creditedMs: number;
  /** Reads the reply as its request's kind and settles the caller; throws E_SANDBOX_PROTOCOL. */
  readonly settle: (reply: { readonly value: unknown } | Crashed) => void;
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
  #child: SandboxProcess | undefined;
  #pending: Pending[] = [];
  #outbox: RequestOf<RequestOp>[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #watchdog: NodeJS.Timeout | undefined;
  #watchedId = -1;
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
    return backend;
  }

  get generation(): number {
    return this.#generation;
  }

  /** The sandbox process's pid (for diagnostics and crash tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  onCrash(listener: (info: CrashInfo) => void): void {
    this.#crashListeners.push(listener);
  }

  async start(spec: LoadSpec, seed: readonly number[], init: StateInit): Promise<StartResult> {
    const reply = await this.#request("start", { spec, seed, init }, spec.callTimeoutMs * 20 + 1000);
    if (isCrash(reply)) {
      return { ok: false, error: { code: "E_SANDBOX_CRASHED", message: "the sandbox process died while the mod was starting" }, stop: reply.culprit ? "crashed" : "lost" };
    }
    if (reply.kind === "ok") this.#timeouts.set(reply.value.id, spec.callTimeoutMs);
    return startResult(reply);
  }

  async dispatch(id: string, events: readonly WireEvent[], replay: boolean): Promise<DispatchResult> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { results: [], stop: "disposed" };
    const reply = await this.#request("dispatch", { instance: id, events, replay }, events.length * Math.ceil(timeout * 1.1 + 1));
    if (isCrash(reply)) return { results: [], stop: reply.culprit ? "crashed" : "lost" };
    return reply;
  }

  async exportState(id: string): Promise<SandboxOutcome<StateSnapshot>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const reply = await this.#request("export", { instance: id }, timeout * 10);
    return isCrash(reply) ? { kind: "disposed" } : reply;
  }

  async stage(id: string, spec: LoadSpec): Promise<StageResult> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { ok: false, error: { code: "E_INTERNAL", message: "the instance is gone" }, stop: "disposed" };
    const reply = await this.#request("stage", { instance: id, spec }, spec.callTimeoutMs * 20 + 1000);
    if (isCrash(reply)) return { ok: false, error: { code: "E_SANDBOX_CRASHED", message: "the sandbox process died while the new version was loading" }, stop: reply.culprit ? "crashed" : "lost" };
    if (reply.kind === "ok") this.#staged.set(id, spec.callTimeoutMs);
    return stageResult(reply);
  }

  async commit(id: string, mode: CommitMode): Promise<SandboxOutcome<StateSnapshot | null>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const budget = mode.kind === "migrate" ? (this.#staged.get(id) ?? timeout) * 10 : 100;
    const reply = await this.#request("commit", { instance: id, mode }, budget);
    if (isCrash(reply)) return { kind: "disposed" };
    if (reply.kind === "ok") this.#timeouts.set(id, this.#staged.get(id) ?? timeout);
    this.#staged.delete(id);
    return reply;
  }

  async adopt(id: string, init: AdoptInit): Promise<SandboxOutcome<void>> {
    const timeout = this.#timeouts.get(id);
    if (timeout === undefined) return { kind: "disposed" };
    const reply = await this.#request("adopt", { instance: id, init }, timeout * 20 + 1000);
    return isCrash(reply) ? { kind: "disposed" } : reply;
  }

  async abortStaged(id: string): Promise<void> {
    this.#staged.delete(id);
    if (!this.#timeouts.has(id)) return;
    await this.#request("abort", { instance: id }, 100);
  }

  async heap(id: string): Promise<HeapFigures | undefined> {
    if (!this.#timeouts.has(id)) return undefined;
    const reply = await this.#request("heap", { instance: id }, 100);
    return isCrash(reply) ? undefined : (reply ?? undefined);
  }

  async stop(id: string): Promise<void> {
    if (!this.#timeouts.delete(id)) return;
    await this.#request("stop", { instance: id }, 1000);
  }

  /** Ends the sandbox process: asks it to exit, then kills it if it does not. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return this.#child?.exitedPromise;
    this.#closing = true;
    this.#clearWatchdog();
    const child = this.#child;
    if (child === undefined) return;
    child.end();
    const killer = setTimeout(() => child.kill(), 2000);
    await child.exitedPromise;
    clearTimeout(killer);
    // Requests made while a restart was backing off never reached a process: answer them now.
    for (const pending of this.#pending.splice(0)) pending.settle({ t: "crash", culprit: false });
  }

  /** Queues a request of kind `op`; resolves with the reply the protocol map gives it, or a crash. */
  #request<K extends RequestOp>(op: K, body: RequestBody<K>, budgetMs: number): Promise<ReplyOf<K> | Crashed> {
    if (this.#closing) return Promise.reject(new ModhostError("E_HOST_CLOSED", "the sandbox is closed"));
    const request: RequestOf<K> = { op, id: this.#nextId++, body };
    return new Promise((resolve) => {
      const settle = (reply: { readonly value: unknown } | Crashed): void => resolve("t" in reply ? reply : readReply(op, reply.value));
      this.#pending.push({ request, budgetMs, capabilityMs: 0, creditedMs: 0, settle });
      this.#outbox.push(request);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // Requests made in the same turn of the event loop travel in one frame.
        setImmediate(() => this.#flush());
      }
      if (this.#pending.length === 1) this.#armWatchdog();
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const child = this.#child;
    if (child === undefined || child.exited || this.#outbox.length === 0) return;
    const batch = this.#outbox;
    this.#outbox = [];
    child.send(JSON.stringify(batch));
  }

  #armWatchdog(): void {
    this.#clearWatchdog();
    const head = this.#pending[0];
    if (head === undefined) return;
    this.#watchedId = head.request.id;
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
      this.#child?.kill();
    }, ms);
    this.#watchdog.unref();
  }

  #clearWatchdog(): void {
    if (this.#watchdog !== undefined) clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  #spawn(): Promise<void> {
    this.#generation++;
    let child: SandboxProcess | undefined;
    const started = SandboxProcess.start(this.#generation, {
      message: (message) => {
        if (child !== undefined) this.#onMessage(child, message);
      },
      protocolError: (error) => {
        if (child !== undefined) this.#onProtocolError(child, error);
      },
      exit: (code, signal) => {
        if (child !== undefined) this.#onExit(child, code, signal);
      },
    });
    child = started.child;
    this.#child = child;
    return started.ready.then(() => this.#flush());
  }

  #onMessage(child: SandboxProcess, message: Exclude<SandboxMessage, { t: "ready" }>): void {
    switch (message.t) {
      case "log":
        this.#bridge.log(message.mod, message.level, message.message);
        return;
      case "cap": {
        const started = performance.now();
        const answer = this.#bridge.capability(message.call);
        const head = this.#pending[0];
        if (head !== undefined) head.capabilityMs += performance.now() - started;
        child.answerCapability(encodeCapabilityAnswer(answer));
        return;
      }
      case "res": {
        const head = this.#pending[0];
        if (head === undefined || head.request.id !== message.id) {
          // Replies come strictly in order: any other means the protocol is broken.
          this.#onProtocolError(child, new ModhostError("E_SANDBOX_PROTOCOL", `the sandbox process answered request ${message.id} when ${head === undefined ? "none" : head.request.id} was due`));
          return;
        }
        try {
          head.settle({ value: message.value });
        } catch (err) {
          if (err instanceof ModhostError) return this.#onProtocolError(child, err);
          throw err;
        }
        this.#pending.shift();
        if (head.request.op === "stop" && "instance" in head.request.body) this.#timeouts.delete(head.request.body.instance);
        this.#armWatchdog();
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
    this.#clearWatchdog();
    const pending = this.#pending;
    this.#pending = [];
    this.#outbox = [];
    this.#timeouts.clear();
    this.#staged.clear();
    const head = pending[0]?.request.body;
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
    const restarted = delayMs === 0 ? this.#spawn() : new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => (this.#closing ? undefined : this.#spawn()));
    pending.forEach((p, index) => p.settle({ t: "crash", culprit: index === 0 }));
    for (const listener of this.#crashListeners) listener(info);
    restarted.catch((err: unknown) => {
      for (const listener of this.#crashListeners) listener({ exitCode: null, signal: null, stderrTail: String(err) });
    });
  }
}

function isCrash<T>(reply: T | Crashed): reply is Crashed {
  return typeof reply === "object" && reply !== null && "t" in reply && reply.t === "crash";
}

import { Worker } from "node:worker_threads";
import type { Diagnostic } from "../errors/diagnostic.js";
import { ModhostError } from "../errors/modhost-error.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import { packagePath } from "../util/package-path.js";
import { trackResource } from "../util/resource-registry.js";
import type { TypeCheckMessage, TypeCheckRequest, TypeCheckWorkerData } from "./type-check-protocol.js";

/** Options of `TypeCheckThread`. */
export interface TypeCheckThreadOptions {
  /** Extra declaration files (absolute paths) every mod sees. */
  readonly extraTypeFiles: readonly string[];
  /** Wall time one check may take once the worker is ready (ms). */
  readonly budgetMs: number;
  /** The worker's heap limit (MB). */
  readonly memoryMb: number;
  /** How long the worker may take to start and warm up (ms); default 60000. */
  readonly startTimeoutMs?: number;
}

/** How many times the budget the first check in a fresh worker gets. */
export const COLD_BUDGET_FACTOR = 5;

interface Running {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly release: () => void;
  /** Why the worker is gone, once it is (exit, crash, out of memory). */
  gone?: Error;
  /** Checks sent to this worker so far. */
  checks: number;
  onMessage?: (message: TypeCheckMessage) => void;
  onGone?: (error: Error) => void;
}

/**
 * Type-checks mods in a worker thread (`type-check-worker.ts`), so that checking untrusted types
 * never blocks the host's event loop, within a time and memory budget. The worker keeps the warm
 * language services between checks; it is started on first use, stopped when a check runs past
 * its budget (that check is refused with E_TYPECHECK_BUDGET), and started again for the next one.
 * Checks run one at a time. One owner; `close()` stops the worker.
 */
export class TypeCheckThread {
  readonly #options: TypeCheckThreadOptions;
  #running: Running | undefined;
  /** Checks, one at a time in call order. */
  readonly #checks = new KeyedMutex<"check">();
  #nextId = 0;
  #closed = false;

  constructor(options: TypeCheckThreadOptions) {
    this.#options = options;
  }

  /**
   * The mod's diagnostics (see `ModTypeChecker.check`); rejects with a ModhostError when it cannot
   * finish. `cold` gives the check the cold budget even in a warm worker (first loads at start-up,
   * when the host's other start-up work competes with it).
   */
  check(mod: string, files: ReadonlyMap<string, string>, options: { readonly cold?: boolean } = {}): Promise<Diagnostic[]> {
    return this.#checks.run("check", () => this.#checkNow(mod, files, options.cold === true));
  }

  /** Is a worker thread running now (for tests)? */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Stops the worker. Idempotent; `check` rejects afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#stop();
  }

  async #checkNow(mod: string, files: ReadonlyMap<string, string>, cold: boolean): Promise<Diagnostic[]> {
    if (this.#closed) throw new ModhostError("E_HOST_CLOSED", "the host is closed");
    const running = this.#start();
    await running.ready;
    const id = ++this.#nextId;
    // The first check in a fresh worker runs TypeScript's checker before the JIT has optimized it
    // (measured: several times slower than a warm one on a loaded machine): it gets more time.
    const budgetMs = this.#options.budgetMs * (running.checks++ === 0 || cold ? COLD_BUDGET_FACTOR : 1);
    return new Promise<Diagnostic[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        finish();
        // The checker may be deep in a recursive type: only stopping the thread ends it.
        void this.#stop();
        reject(new ModhostError("E_TYPECHECK_BUDGET", `type-checking mod ${mod} ran past its ${budgetMs} ms budget (typecheckBudgetMs) and was stopped; simplify its types`, { mod }));
      }, budgetMs);
      const finish = (): void => {
        clearTimeout(timer);
        delete running.onMessage;
        delete running.onGone;
      };
      running.onMessage = (message) => {
        if (message.kind === "ready" || message.id !== id) return;
        finish();
        if (message.kind === "checked") resolve([...message.diagnostics]);
        else reject(new ModhostError(message.code, message.message, { mod }));
      };
      running.onGone = (error) => {
        finish();
        reject(error);
      };
      const request: TypeCheckRequest = { id, mod, files: [...files] };
      running.worker.postMessage(request);
    });
  }

  #start(): Running {
    if (this.#running !== undefined) return this.#running;
    const data: TypeCheckWorkerData = { extraTypeFiles: this.#options.extraTypeFiles };
    const memoryMb = this.#options.memoryMb;
    const worker = new Worker(packagePath("dist/compile/type-check-worker.js"), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: memoryMb },
      // Its output is the engine's: nothing of a mod's reaches it.
      stdout: false,
      stderr: false,
    });
    const release = trackResource("type-check worker");
    let readyResolve: () => void = () => undefined;
    let readyReject: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    const running: Running = { worker, ready, release, checks: 0 };
    const startTimer = setTimeout(() => {
      const error = new ModhostError("E_INTERNAL", `the type-check worker did not start within ${this.#options.startTimeoutMs ?? 60_000} ms`);
      readyReject(error);
      void this.#stop();
    }, this.#options.startTimeoutMs ?? 60_000);
    const gone = (error: Error): void => {
      clearTimeout(startTimer);
      if (running.gone !== undefined) return;
      running.gone = error;
      readyReject(error);
      running.onGone?.(error);
      if (this.#running === running) this.#running = undefined;
      release();
    };
    worker.on("message", (message: TypeCheckMessage) => {
      if (message.kind === "ready") {
        clearTimeout(startTimer);
        readyResolve();
      }
      running.onMessage?.(message);
    });
    worker.on("error", (err: Error) => {
      const memory = (err as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY";
      gone(
        memory
          ? new ModhostError("E_TYPECHECK_BUDGET", `type-checking ran past its ${memoryMb} MB memory budget (typecheckMemoryMb) and was stopped; simplify the mod's types`)
          : new ModhostError("E_INTERNAL", `the type-check worker failed: ${err.message}`, {}, { cause: err }),
      );
    });
    worker.on("exit", (exitCode) => gone(this.#closed ? new ModhostError("E_HOST_CLOSED", "the host is closed") : new ModhostError("E_INTERNAL", `the type-check worker exited (code ${exitCode})`)));
    // A rejection of `ready` with no check waiting (close() during warm-up) is not an error.
    ready.catch(() => undefined);
    this.#running = running;
    return running;
  }

  async #stop(): Promise<void> {
    const running = this.#running;
    if (running === undefined) return;
    this.#running = undefined;
    await running.worker.terminate();
    running.release();
  }
}

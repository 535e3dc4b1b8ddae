import { fork, type ChildProcess } from "node:child_process";
import type { Diagnostic } from "../errors/diagnostic.js";
import { ModhostError } from "../errors/modhost-error.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import { childEnv } from "../util/child-env.js";
import { packagePath } from "../util/package-path.js";
import { trackResource } from "../util/resource-registry.js";
import type { TypeCheckMessage, TypeCheckRequest, TypeCheckChildData } from "./type-check-protocol.js";

/** Options of `TypeCheckProcess`. */
export interface TypeCheckProcessOptions {
  /** Extra declaration files (absolute paths) every mod sees. */
  readonly extraTypeFiles: readonly string[];
  /** Wall time one check may take once the child is ready (ms). */
  readonly budgetMs: number;
  /** The child's heap limit (MB). */
  readonly memoryMb: number;
  /** How long the child may take to start and warm up (ms); default 60000. */
  readonly startTimeoutMs?: number;
}

/** How many times the budget the first check in a fresh child gets. */
export const COLD_BUDGET_FACTOR = 5;

/** The last characters of the child's stderr kept for an error message (V8's out-of-memory report). */
const STDERR_TAIL = 2000;

interface Running {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  /** Settles once the child has exited and its pipes are closed. */
  readonly exited: Promise<void>;
  /** Why the child is gone, once it is (exit, crash, out of memory). */
  gone?: Error;
  /** Checks sent to this child so far. */
  checks: number;
  onMessage?: (message: TypeCheckMessage) => void;
  onGone?: (error: Error) => void;
}

/**
 * Type-checks mods in a child process (`type-check-child.ts`), so that checking untrusted types
 * never blocks the host's event loop, within a time and memory budget. A process, not a worker
 * thread: a worker that reaches its heap limit can abort the whole process, depending on how the
 * checker allocated (nodejs/node#47224; seen in CI on Node 24 with a pathological mod type), where
 * a child's out-of-memory ends the child only. The child keeps the warm language services between
 * checks; it is started on first use, stopped when a check runs past its budget (that check is
 * refused with E_TYPECHECK_BUDGET), and started again for the next one. Checks run one at a time.
 * One owner; `close()` stops the child and waits for it to exit.
 */
export class TypeCheckProcess {
  readonly #options: TypeCheckProcessOptions;
  #running: Running | undefined;
  /** Every child not yet exited, the one serving included: close() waits for all of them. */
  readonly #alive = new Set<Running>();
  /** Checks, one at a time in call order. */
  readonly #checks = new KeyedMutex<"check">();
  #nextId = 0;
  #closed = false;

  constructor(options: TypeCheckProcessOptions) {
    this.#options = options;
  }

  /**
   * The mod's diagnostics (see `ModTypeChecker.check`); rejects with a ModhostError when it cannot
   * finish. `cold` gives the check the cold budget even in a warm child (first loads at start-up,
   * when the host's other start-up work competes with it).
   */
  check(mod: string, files: ReadonlyMap<string, string>, options: { readonly cold?: boolean } = {}): Promise<Diagnostic[]> {
    return this.#checks.run("check", () => this.#checkNow(mod, files, options.cold === true));
  }

  /** Is a child process running now (for tests)? */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Stops the child (and any child still dying) and waits for them to exit. Idempotent; `check` rejects afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#running = undefined;
    // The child serving now is among them.
    await Promise.all([...this.#alive].map((running) => this.#kill(running)));
  }

  async #checkNow(mod: string, files: ReadonlyMap<string, string>, cold: boolean): Promise<Diagnostic[]> {
    if (this.#closed) throw new ModhostError("E_HOST_CLOSED", "the host is closed");
    const running = this.#start();
    await running.ready;
    const id = ++this.#nextId;
    // The first check in a fresh child runs TypeScript's checker before the JIT has optimized it
    // (measured: several times slower than a warm one on a loaded machine): it gets more time.
    const budgetMs = this.#options.budgetMs * (running.checks++ === 0 || cold ? COLD_BUDGET_FACTOR : 1);
    return new Promise<Diagnostic[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        finish();
        // The checker may be deep in a recursive type: only stopping the child ends it.
        void this.#stop(running);
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
      running.child.send(request, (err) => {
        if (err === null) return;
        // The child is going away: this check fails, and the next one gets a fresh child.
        running.onGone?.(new ModhostError("E_INTERNAL", `the type-check process could not be sent the check: ${err.message}`, {}, { cause: err }));
        void this.#stop(running);
      });
    });
  }

  #start(): Running {
    if (this.#running !== undefined) return this.#running;
    const data: TypeCheckChildData = { extraTypeFiles: this.#options.extraTypeFiles };
    const memoryMb = this.#options.memoryMb;
    const child = fork(packagePath("dist/compile/type-check-child.js"), [JSON.stringify(data)], {
      // Its own flags, none of the host's (an --inspect port, a snapshot switch): only the heap limit.
      execArgv: [`--max-old-space-size=${memoryMb}`],
      env: childEnv(),
      // Its output is the engine's: nothing of a mod's reaches it. stderr is kept for V8's report.
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "json",
    });
    const release = trackResource("type-check-process");
    let stderrTail = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL);
    });
    let readyResolve: () => void = () => undefined;
    let readyReject: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const running: Running = { child, ready, exited, checks: 0 };
    this.#alive.add(running);
    const startTimeoutMs = this.#options.startTimeoutMs ?? 60_000;
    const startTimer = setTimeout(() => {
      readyReject(new ModhostError("E_INTERNAL", `the type-check process did not start within ${startTimeoutMs} ms`));
      void this.#stop(running);
    }, startTimeoutMs);
    const gone = (error: Error): void => {
      clearTimeout(startTimer);
      if (running.gone !== undefined) return;
      running.gone = error;
      readyReject(error);
      running.onGone?.(error);
      // A child that failed (an IPC error) may still run: it is not left behind.
      void this.#stop(running);
    };
    child.on("message", (message: TypeCheckMessage) => {
      if (message.kind === "ready") {
        clearTimeout(startTimer);
        readyResolve();
      }
      running.onMessage?.(message);
    });
    child.on("error", (err: Error) => gone(new ModhostError("E_INTERNAL", `the type-check process failed: ${err.message}`, {}, { cause: err })));
    // Decided once the child's pipes are closed, so its stderr (V8's report) has been read.
    child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.#closed) return gone(new ModhostError("E_HOST_CLOSED", "the host is closed"));
      // V8 aborts a process that reaches its heap limit (SIGABRT; "Reached heap limit" on stderr).
      if (signal === "SIGABRT" || /heap out of memory|Reached heap limit/.test(stderrTail)) {
        return gone(new ModhostError("E_TYPECHECK_BUDGET", `type-checking ran past its ${memoryMb} MB memory budget (typecheckMemoryMb) and was stopped; simplify the mod's types`));
      }
      const tail = stderrTail.trim().split("\n").slice(-3).join(" | ");
      gone(new ModhostError("E_INTERNAL", `the type-check process exited (${signal ?? `code ${code}`})${tail === "" ? "" : `: ${tail}`}`));
    });
    // Released once the process is gone and its pipes are closed, however it ended.
    void exited.then(() => {
      this.#alive.delete(running);
      release();
    });
    // A rejection of `ready` with no check waiting (close() during warm-up) is not an error.
    ready.catch(() => undefined);
    this.#running = running;
    return running;
  }

  /** Stops `running` (default: the child serving now); the next check starts a fresh one. */
  async #stop(running = this.#running): Promise<void> {
    if (running === undefined) return;
    if (this.#running === running) this.#running = undefined;
    await this.#kill(running);
  }

  /** Kills a child that has not exited yet, and waits until it has. */
  async #kill(running: Running): Promise<void> {
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGKILL");
    await running.exited;
  }
}

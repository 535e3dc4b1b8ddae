import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The modhost command as installed: engine/bin/modhost.js (runs engine/dist). */
export const CLI = fileURLToPath(new URL("../../engine/bin/modhost.js", import.meta.url));

/** What a finished CLI run printed and returned. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of a CLI run. */
export interface CliOptions {
  readonly cwd?: string;
  /** Added to (or, with undefined values, removed from) the test's environment. */
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
  /** Written to the command's stdin, which is then closed (default: no stdin). */
  readonly input?: string;
  /** Start it in its own process group (CliProcess), so a test can signal the group as a terminal's Ctrl-C does. */
  readonly detached?: boolean;
  /** Keep its stdin open for `write()` (CliProcess; default: no stdin). */
  readonly stdin?: boolean;
}

function environment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  // Colors are decided by the command itself; tests see plain text unless they ask.
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: undefined, NO_COLOR: undefined, MODHOST_TOKEN: undefined, MODHOST_SERVER: undefined };
  for (const [key, value] of Object.entries(extra)) env[key] = value;
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env;
}

/** Runs `modhost ...args` to completion (killed after timeoutMs, default 30 s). */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: environment(options.env), stdio: [options.input !== undefined ? "pipe" : "ignore", "pipe", "pipe"] });
    if (options.input !== undefined) child.stdin?.end(options.input);
    let stdout = "";
    let stderr = "";
    // Both are pipes (stdio above), never null.
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * A long-running `modhost` (serve, dev, logs --follow): its output as it comes, waits for lines,
 * and a stop that sends a signal and waits for the exit. `stop()` is idempotent and always ends
 * the process (SIGKILL after a grace period), so no test leaves one behind.
 */
export class CliProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<CliResult>;
  #stdout = "";
  #stderr = "";
  readonly #waiters = new Set<() => void>();

  private constructor(args: readonly string[], options: CliOptions) {
    this.#child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: environment(options.env), stdio: [options.stdin === true ? "pipe" : "ignore", "pipe", "pipe"], detached: options.detached === true });
    const wake = (): void => {
      for (const waiter of this.#waiters) waiter();
    };
    this.#child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stdout += chunk;
      wake();
    });
    this.#child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr += chunk;
      wake();
    });
    this.#exited = new Promise((resolve, reject) => {
      this.#child.once("error", reject);
      this.#child.once("close", (code, signal) => {
        wake();
        resolve({ code, signal, stdout: this.#stdout, stderr: this.#stderr });
      });
    });
  }

  /** Starts `modhost ...args`. */
  static start(args: readonly string[], options: CliOptions = {}): CliProcess {
    return new CliProcess(args, options);
  }

  get stdout(): string {
    return this.#stdout;
  }

  /** Resolves once the process exited by itself. */
  get exited(): Promise<CliResult> {
    return this.#exited;
  }

  /** Writes to its stdin (started with `stdin: true`). */
  write(text: string): void {
    this.#child.stdin?.write(text);
  }

  /** Sends `signal` to the process's whole group (started with `detached`), as Ctrl-C in a terminal does. */
  signalGroup(signal: NodeJS.Signals): void {
    if (this.#child.pid !== undefined) process.kill(-this.#child.pid, signal);
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The stdout lines parsed as JSON (for --json modes). */
  jsonLines(): Record<string, unknown>[] {
    return this.#stdout
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Resolves with the first result of `probe` that is not undefined; rejects after timeoutMs or when the process exits first. */
  waitFor<T>(probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      let exited = false;
      void this.#exited.then(() => (exited = true));
      const check = (): void => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (err) {
          done();
          reject(err as Error);
          return;
        }
        if (value !== undefined) {
          done();
          resolve(value);
        } else if (exited || this.#child.exitCode !== null) {
          done();
          reject(new Error(`the process exited before the condition held\nstdout:\n${this.#stdout}\nstderr:\n${this.#stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms\nstdout:\n${this.#stdout}\nstderr:\n${this.#stderr}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` (default SIGTERM) and resolves with the result once it exited (SIGKILL after 10 s). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<CliResult> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill(signal);
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
      const result = await this.#exited;
      clearTimeout(timer);
      return result;
    }
    return this.#exited;
  }
}

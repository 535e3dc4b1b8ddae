import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./fleet-server.mjs", import.meta.url));

/** How a test fleet server is configured (see fleet-server.mjs). */
export interface FleetServerConfig {
  readonly modsDir: string;
  readonly stateDir: string;
  readonly redis: string;
  readonly server: string;
  readonly group?: string;
  readonly registry: string;
  readonly token: string;
  readonly trust: string;
  readonly heartbeatMs?: number;
  readonly backstopMs?: number;
  /** The servers' controller lease (they drive a release whose lease is free for this long). */
  readonly leaseMs?: number;
}

type Line = Record<string, unknown>;

/** A fleet server process: a real ModHost in its own Node process. */
export class FleetServer {
  readonly lines: Line[] = [];
  readonly stderr: string[] = [];
  readonly #child: ChildProcess;
  readonly #waiters = new Map<number, (line: Line) => void>();
  readonly exited: Promise<number | null>;
  #id = 0;
  #paused = false;

  private constructor(readonly config: FleetServerConfig) {
    this.#child = spawn(process.execPath, ["--no-node-snapshot", SCRIPT, JSON.stringify(config)], { stdio: ["pipe", "pipe", "pipe"] });
    let buf = "";
    this.#child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let line: Line;
        try {
          line = JSON.parse(text) as Line;
        } catch {
          line = { type: "text", text };
        }
        this.lines.push(line);
        if (typeof line.id === "number") this.#waiters.get(line.id)?.(line);
      }
    });
    this.#child.stderr!.setEncoding("utf8").on("data", (c: string) => this.stderr.push(c));
    this.exited = new Promise((resolve) => this.#child.once("close", (code) => resolve(code)));
  }

  /** Starts the process and waits for its host to be created. */
  static async start(config: FleetServerConfig, timeoutMs = 60_000): Promise<FleetServer> {
    const server = new FleetServer(config);
    await server.waitFor((l) => l.type === "ready", timeoutMs);
    return server;
  }

  get name(): string {
    return this.config.server;
  }

  /** Waits for a line matching `test` (already seen or to come). */
  async waitFor(test: (line: Line) => boolean, timeoutMs = 60_000): Promise<Line> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(test);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`${this.name}: no matching line in ${timeoutMs} ms; stderr: ${this.stderr.join("").slice(-2000)}; last lines: ${JSON.stringify(this.lines.slice(-10))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a command and waits for its answer. */
  request(cmd: Record<string, unknown>, timeoutMs = 120_000): Promise<Line> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: ${String(cmd.cmd)} got no answer in ${timeoutMs} ms; stderr: ${this.stderr.join("").slice(-2000)}`)), timeoutMs);
      this.#waiters.set(id, (line) => {
        clearTimeout(timer);
        this.#waiters.delete(id);
        resolve(line);
      });
      this.#child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  }

  async emit(n: number): Promise<{ ok: number; failed: number; versions: Record<string, number>; codes: Record<string, number> }> {
    return (await this.request({ cmd: "emit", n })) as unknown as { ok: number; failed: number; versions: Record<string, number>; codes: Record<string, number> };
  }

  async version(mod: string): Promise<string | undefined> {
    const mods = (await this.request({ cmd: "mods" })).mods as { name: string; version: string }[];
    return mods.find((m) => m.name === mod)?.version;
  }

  async state(mod: string): Promise<unknown> {
    return (await this.request({ cmd: "state", mod })).state;
  }

  /** Closes the host and waits for the process to exit (SIGKILL after 30 s). */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 30_000);
    this.request({ cmd: "close" }, 30_000).catch(() => undefined);
    await this.exited;
    clearTimeout(timer);
  }

  /** True between pause() and resume(): the process is stopped (SIGSTOP) and answers nothing. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Stops the process (SIGSTOP) as a hung server would: it neither answers nor beats. */
  pause(): void {
    this.#paused = true;
    this.#child.kill("SIGSTOP");
  }

  resume(): void {
    this.#child.kill("SIGCONT");
    this.#paused = false;
  }

  kill(): Promise<number | null> {
    this.#paused = false;
    this.#child.kill("SIGKILL");
    return this.exited;
  }
}

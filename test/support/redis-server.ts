import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A real redis-server on a random loopback port, its data (append-only file) in a temp folder. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** SIGKILLs the server (data written so far is in its append-only file). */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server (/usr/bin/redis-server or the one on PATH). */
export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), "modhost-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const launch = async (): Promise<void> => {
    const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "no"], { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    exited = new Promise<void>((resolve) => proc.once("close", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 30 s:\n${out}`)), 30_000);
      const onData = (c: string): void => {
        out += c;
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.setEncoding("utf8").on("data", onData);
      proc.stderr?.setEncoding("utf8").on("data", onData);
      proc.once("error", reject);
      proc.once("close", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited ${code}:\n${out}`));
      });
    });
  };
  const kill = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  let stopped = false;
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

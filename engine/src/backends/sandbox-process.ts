import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { ModhostError } from "../errors/modhost-error.js";
import { packagePath } from "../util/package-path.js";
import { trackResource } from "../util/resource-registry.js";
import { ATTACHMENT_MARK, FrameDecoder, encodeFrame } from "./framing.js";
import { PROGRESS_BYTES, decodeMessage, type SandboxMessage } from "./sandbox-protocol.js";
import { childEnv } from "../util/child-env.js";
import { sandboxNodeFlags } from "./sandbox-node-flags.js";

/**
 * Opens the progress file of a new sandbox process (fd 6 there, backends/sandbox-protocol.ts) and
 * unlinks it at once: only the two processes hold it, and nothing is left behind. tmpfs when the
 * machine has one, so the writes never reach a disk.
 */
function openProgressFile(): number {
  const dir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const path = join(dir, `modhost-progress-${process.pid}-${randomBytes(6).toString("hex")}`);
  const fd = openSync(path, "wx+", 0o600);
  unlinkSync(path);
  return fd;
}

/** Attachment frames accepted ahead of one message (a frame's export and commit replies each carry one). */
const MAX_ATTACHMENTS = 100_000;

/** How long the exit waits for the rest of the output once the process is gone (ms). */
const OUTPUT_DRAIN_MS = 2000;

/** What a sandbox process tells its owner. */
export interface SandboxProcessListener {
  /** A message other than "ready", decoded. */
  message(message: Exclude<SandboxMessage, { t: "ready" }>): void;
  /** A frame that is not a message (E_SANDBOX_PROTOCOL): the owner kills the process. */
  protocolError(error: ModhostError): void;
  /** The process is gone (after it was ready, or while starting up). */
  exit(exitCode: number | null, signal: string | null): void;
}

/**
 * One running sandbox process (backends/sandbox-main.ts) and its pipes, started with
 * sandboxNodeFlags(). ProcessBackend owns it and starts a new one when it dies.
 */
export class SandboxProcess {
  readonly generation: number;
  readonly #process: ChildProcess;
  readonly #toChild: Writable;
  readonly #capabilityReplies: Writable;
  #stderrTail = "";
  #exited = false;
  /** The owner was told of the exit (once the output was read to its end). */
  #exitReported = false;
  readonly #exitedPromise: Promise<void>;
  /** The progress file (closed once the process is gone and its last record read). */
  #progressFd: number | undefined;
  /** The last progress record, read when the process exited. */
  #lastRunning: number | undefined;
  /** Bytes read from the process's output (fd 4) so far. */
  #outputBytes = 0;

  private constructor(generation: number, proc: ChildProcess, toChild: Writable, capabilityReplies: Writable, exited: Promise<void>, progressFd: number) {
    this.generation = generation;
    this.#process = proc;
    this.#toChild = toChild;
    this.#capabilityReplies = capabilityReplies;
    this.#exitedPromise = exited;
    this.#progressFd = progressFd;
  }

  /**
   * Starts a sandbox process; `ready` settles when it has said so, or rejects with
   * E_SANDBOX_UNAVAILABLE when it could not start or exited first. `generation` numbers the
   * launch (instance ids carry it). `prewarm`: a spare, which loads isolated-vm and runs one
   * throw-away mod before it says ready (backends/prewarm.ts). `predictableGc`: see
   * sandboxNodeFlags().
   */
  static start(generation: number, listener: SandboxProcessListener, prewarm = false, predictableGc = false): { readonly child: SandboxProcess; readonly ready: Promise<void> } {
    const env = childEnv();
    const args = [...sandboxNodeFlags(predictableGc), packagePath("dist/backends/sandbox-main.js"), String(generation), ...(prewarm ? ["--prewarm"] : [])];
    const progressFd = openProgressFile();
    let proc: ChildProcess;
    try {
      proc = spawn(process.execPath, args, {
        stdio: ["ignore", "ignore", "pipe", "pipe", "pipe", "pipe", progressFd],
        env,
        serialization: "json",
      });
    } catch (err) {
      closeSync(progressFd);
      throw err;
    }
    const stdio = proc.stdio as unknown as [null, null, Readable, Writable, Readable, Writable];
    let markExited!: () => void;
    const child = new SandboxProcess(generation, proc, stdio[3], stdio[5], new Promise<void>((resolve) => (markExited = resolve)), progressFd);
    const untrack = trackResource("sandbox-process");
    let onReady: (() => void) | undefined;
    let onFailed: ((err: Error) => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFailed = reject;
    });
    stdio[2].setEncoding("utf8");
    stdio[2].on("data", (text: string) => {
      child.#stderrTail = (child.#stderrTail + text).slice(-4096);
    });
    // Pipe errors (EPIPE after a crash) are expected; the exit handler deals with the crash.
    for (const stream of [stdio[3], stdio[4], stdio[5]]) stream.on("error", () => undefined);
    /** Attachment frames read since the last message (framing.ts): the next "res" message takes them. */
    let attachments: string[] = [];
    const decoder = new FrameDecoder((json) => {
      if (json.startsWith(ATTACHMENT_MARK)) {
        // A garbage-writing process cannot pile them up: more than a frame's replies could take is broken.
        if (attachments.length >= MAX_ATTACHMENTS) return listener.protocolError(new ModhostError("E_SANDBOX_PROTOCOL", `the sandbox process sent over ${MAX_ATTACHMENTS} attachments without a message`));
        attachments.push(json.slice(1));
        return;
      }
      let message: SandboxMessage;
      const taken = attachments;
      attachments = [];
      try {
        message = decodeMessage(json, taken);
      } catch (err) {
        if (err instanceof ModhostError) return listener.protocolError(err);
        throw err;
      }
      if (message.t === "ready") onReady?.();
      else listener.message(message);
    });
    stdio[4].on("data", (chunk: Buffer) => {
      child.#outputBytes += chunk.length;
      try {
        decoder.push(chunk);
      } catch (err) {
        // An over-long length prefix: the stream is corrupt from here on.
        listener.protocolError(new ModhostError("E_SANDBOX_PROTOCOL", `the sandbox process sent a corrupt frame: ${(err as Error).message}`, {}, { cause: err }));
      }
    });
    proc.on("error", (err) => {
      // No exit follows a failed spawn: the progress file is closed here.
      if (proc.pid === undefined) child.#closeProgress();
      onFailed?.(new ModhostError("E_SANDBOX_UNAVAILABLE", `cannot start the sandbox process: ${err.message}`, {}, { cause: err }));
    });
    // The owner hears of the exit once fd 4 is read to its end too: "exit" may come while replies
    // written before the death are still in the pipe, and a request that finished would then be
    // taken for the crash's culprit. (libuv runs exit callbacks after the I/O of the same poll,
    // so it does not happen today; this does not rely on it.) A pipe that never closes (nothing
    // else holds it) is not waited for past OUTPUT_DRAIN_MS.
    let exitStatus: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
    let outputEnded = false;
    let drainTimer: NodeJS.Timeout | undefined;
    const reportExit = (): void => {
      if (exitStatus === undefined || child.#exitReported) return;
      child.#exitReported = true;
      if (drainTimer !== undefined) clearTimeout(drainTimer);
      const { code, signal } = exitStatus;
      child.#lastRunning = child.runningRequest();
      child.#closeProgress();
      untrack();
      onFailed?.(new ModhostError("E_SANDBOX_UNAVAILABLE", `the sandbox process exited during start-up (code ${code}, signal ${signal}): ${child.#stderrTail}`));
      markExited();
      listener.exit(code, signal);
    };
    stdio[4].on("close", () => {
      outputEnded = true;
      reportExit();
    });
    proc.on("exit", (code, signal) => {
      child.#exited = true;
      exitStatus = { code, signal };
      if (outputEnded) return reportExit();
      drainTimer = setTimeout(reportExit, OUTPUT_DRAIN_MS);
    });
    return {
      child,
      ready: ready.then(() => {
        onFailed = undefined;
      }),
    };
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Settles when the process has exited. */
  get exitedPromise(): Promise<void> {
    return this.#exitedPromise;
  }

  /**
   * The id of the request the process last began to run (from its progress file), or undefined
   * before its first. After the exit, the record as it was then: a crash's culprit.
   */
  runningRequest(): number | undefined {
    if (this.#progressFd === undefined) return this.#lastRunning;
    const id = this.#readProgress()?.readDoubleLE(0);
    return id === undefined || Number.isNaN(id) ? undefined : id;
  }

  /**
   * The milliseconds the process has spent in all blocked on writing to the host (from its
   * progress file; 0 before any, and once it is gone).
   */
  blockedWritingMs(): number {
    return this.#readProgress()?.readDoubleLE(8) ?? 0;
  }

  /** The progress record as the process last wrote it, or undefined (none yet, or the file closed). */
  #readProgress(): Buffer | undefined {
    const fd = this.#progressFd;
    if (fd === undefined) return undefined;
    const record = Buffer.alloc(PROGRESS_BYTES);
    return readSync(fd, record, 0, PROGRESS_BYTES, 0) < PROGRESS_BYTES ? undefined : record;
  }

  /** Bytes the host has read so far of the process's output (its replies, log lines and calls). */
  get outputBytes(): number {
    return this.#outputBytes;
  }

  #closeProgress(): void {
    if (this.#progressFd === undefined) return;
    closeSync(this.#progressFd);
    this.#progressFd = undefined;
  }

  /** The last 4 KiB the process wrote to stderr. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /** Adds a line to the stderr tail (what the host itself has to say about the process's end). */
  note(line: string): void {
    this.#stderrTail = (this.#stderrTail + line + "\n").slice(-4096);
  }

  /** Sends one request frame's text (backends/request-frame.ts) on fd 3. */
  send(text: string): void {
    this.#toChild.write(encodeFrame(text));
  }

  /** Sends a capability answer's text on fd 5, where the process waits for it. */
  answerCapability(text: string): void {
    this.#capabilityReplies.write(encodeFrame(text));
  }

  /** Closes the request pipe: the process exits when it has read it all. */
  end(): void {
    this.#toChild.end();
  }

  kill(): void {
    this.#process.kill("SIGKILL");
  }

  /** Asks the process to end (closing its request pipe), kills it if it does not within 2 s. */
  async stop(): Promise<void> {
    this.end();
    const killer = setTimeout(() => this.kill(), 2000);
    await this.#exitedPromise;
    clearTimeout(killer);
  }
}

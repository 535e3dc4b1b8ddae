/**
 * Entry point of the sandbox process: owns every isolate, runs the host's requests in order and
 * answers on fd 4, one reply frame per request frame. Started by ProcessBackend with the flags
 * backends/sandbox-process.ts names.
 */
import { readSync, writeSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Socket } from "node:net";
import { InstanceRegistry } from "../sandbox/instance-registry.js";
import type { SandboxBridge, StateSnapshot } from "../model/wire.js";
import type { SandboxOutcome } from "../sandbox/sandbox-outcome.js";
import { FrameDecoder, encodeAttachmentFrame, encodeFrame } from "./framing.js";
import { prewarm } from "./prewarm.js";
import { isolatePool } from "../sandbox/isolate-pool.js";
import { PRELOAD_LINGER_MS } from "../sandbox/preloaded-versions.js";
import { decodeRequestFrame } from "./request-frame.js";
import { FD_CAPABILITY_REPLIES, FD_OUT, FD_PROGRESS, FD_REQUESTS, PROGRESS_BYTES, decodeCapabilityAnswer, type ReplyOf, type RequestOf, type RequestOp, type SandboxRequest } from "./sandbox-protocol.js";

// Ctrl-C in a terminal signals the whole process group: the host (the parent) decides when the
// sandbox ends and closes it cleanly, so the sandbox must not die first and look like a crash.
process.on("SIGINT", () => undefined);

/** Writes one frame to fd 4, whole, before returning (a crash right after loses nothing). */
function writeAll(json: string): void {
  writeFrame(encodeFrame(json));
}

function readExactly(size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const n = readSync(FD_CAPABILITY_REPLIES, buffer, offset, size - offset, null);
    if (n === 0) process.exit(0); // the host is gone
    offset += n;
  }
  return buffer;
}

/** Replies of the running frame not yet written (JSON text of each). */
let replies: string[] = [];
/** The state texts those replies carry as attachment frames, in order (sandbox-protocol.ts decodeMessage). */
let attachments: string[] = [];

/**
 * A write to fd 4 that took longer than this (ms) waited for the host to read: it is added to the
 * progress record's blocked time. Shorter ones are not timed into the record (a system call each).
 * On a starved machine a slow write's time may include waiting for a CPU, which the watchdog's
 * CPU clock also does not charge: counted twice, but only as long as the writes took.
 */
const BLOCKED_WRITE_MS = 1;

/** Writes one frame (already encoded) to fd 4, whole. */
function writeFrame(frame: Buffer): void {
  const started = performance.now();
  let offset = 0;
  while (offset < frame.length) offset += writeSync(FD_OUT, frame, offset, frame.length - offset);
  const took = performance.now() - started;
  if (took > BLOCKED_WRITE_MS) addBlockedWriting(took);
}

/**
 * Writes the replies so far as one frame, after their attachments. Before a log or a capability
 * call too: the host reads messages in order, so it learns which request is running and answers
 * ahead of it stay in order.
 */
function flushReplies(): void {
  if (replies.length === 0) return;
  const body = replies.join(",");
  replies = [];
  for (const text of attachments) writeFrame(encodeAttachmentFrame(text));
  attachments = [];
  writeAll(`{"t":"res","replies":[${body}]}`);
}

const progress = Buffer.alloc(PROGRESS_BYTES);
progress.writeDoubleLE(NaN, 0);
let blockedWritingMs = 0;
/**
 * Records on fd 6 (a file: no reader wakes) that request `id` runs now. A crash loses the replies
 * of the frame not yet written; the record tells the host which request was the culprit, and the
 * watchdog which one to time.
 */
function markRunning(id: number): void {
  progress.writeDoubleLE(id, 0);
  writeProgress();
}

/**
 * Records that writing to the host waited `ms` more: a game holding the host's event loop leaves a
 * big reply or a mod's many log lines unread, and the watchdog must not charge that wait.
 */
function addBlockedWriting(ms: number): void {
  blockedWritingMs += ms;
  progress.writeDoubleLE(blockedWritingMs, 8);
  writeProgress();
}

/** Writes the whole progress record at the start of fd 6 (a pwrite: the host reads it when it must). */
function writeProgress(): void {
  writeSync(FD_PROGRESS, progress, 0, PROGRESS_BYTES, 0);
}

const bridge: SandboxBridge = {
  log(mod, level, message) {
    flushReplies();
    writeAll(JSON.stringify({ t: "log", mod, level, message }));
  },
  capability(call) {
    flushReplies();
    writeAll(JSON.stringify({ t: "cap", call }));
    const size = readExactly(4).readUInt32LE(0);
    return decodeCapabilityAnswer(readExactly(size).toString("utf8"));
  },
};

const registry = new InstanceRegistry(bridge, `p${process.argv[2] ?? "0"}`);

/** Queues the reply to request `id` for the frame's reply: `value` is JSON text already. */
function reply(id: number, valueJson: string): void {
  replies.push(`{"id":${id},"value":${valueJson}}`);
}

/** Runs one request and writes its reply; the switch narrows each request to its body. */
function handle(request: SandboxRequest): void {
  switch (request.op) {
    case "start":
      return answer(request, registry.start(request.body.spec, request.body.seed, request.body.init));
    case "restore":
      return answer(request, registry.restore(request.body));
    case "dispatch": {
      const outcome = registry.dispatch(request.body.instance, request.body.events, request.body.replay);
      const stop = outcome.stop === undefined ? "" : `"stop":${JSON.stringify(outcome.stop)},`;
      const late = outcome.late ? `"late":${outcome.late},` : "";
      // The results are already JSON text: forward them without parsing.
      return reply(request.id, `{${stop}${late}"ranMs":${outcome.ranMs},"results":${outcome.resultsJson}}`);
    }
    case "export":
      return answerSnapshot(request.id, registry.exportState(request.body.instance));
    case "stage":
      return answer(request, registry.stage(request.body.instance, request.body.spec));
    case "commit":
      return answer(request, registry.commit(request.body.instance, request.body.mode));
    case "adopt":
      return answer(request, registry.adopt(request.body.instance, request.body.init));
    case "abort":
      registry.abortStaged(request.body.instance);
      return answer(request, null);
    case "heap":
      return answer(request, registry.heap(request.body.instance) ?? null);
    case "stop":
      registry.stop(request.body.instance);
      return answer(request, null);
    case "pool":
      // A spare fills its pool while it waits (never answered: nobody waits on it, and a reply
      // would arrive out of order once the spare is the live process).
      isolatePool.fill(request.body.memoryMb, Math.max(0, Math.min(1024, request.body.count)));
      return;
    case "preload":
      registry.preload(request.body.keep, request.body.add);
      return;
  }
}

/** Replies to a request with the value the protocol map gives its kind. */
function answer<K extends RequestOp>(request: RequestOf<K>, value: ReplyOf<K>): void {
  reply(request.id, JSON.stringify(value));
}

/**
 * Replies with an outcome that may carry a state snapshot: its state text (a checkpoint, up to
 * megabytes) travels as an attachment frame, not escaped into the reply's JSON and parsed back.
 */
function answerSnapshot(id: number, outcome: SandboxOutcome<StateSnapshot>): void {
  if (outcome.kind !== "ok") return reply(id, JSON.stringify(outcome));
  const { state, ...rest } = outcome.value;
  replies.push(`{"id":${id},"att":${attachments.length},"value":${JSON.stringify({ kind: "ok", value: rest })}}`);
  attachments.push(state);
}

/** Set once the process serves (a spare was taken): the preloaded versions nobody took are then dropped. */
let lingering: NodeJS.Timeout | undefined;

const input = new Socket({ fd: FD_REQUESTS, readable: true, writable: false });
const decoder = new FrameDecoder((text) => {
  const requests = decodeRequestFrame(text);
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i] as SandboxRequest;
    // The first request of a frame needs no record: every request before it was answered, so
    // the host takes the first unanswered one for the culprit. A record costs a system call
    // (measured here: 2.5-3 us of CPU, 25-50 us of wall time on a loaded machine), so a frame of
    // one request, the awaited single emit, pays none.
    if (i > 0) markRunning(request.id);
    if (lingering === undefined && request.op !== "pool" && request.op !== "preload") {
      // The restores of a crash come at once, or when their mods next get an event: soon.
      lingering = setTimeout(() => registry.preload([], []), PRELOAD_LINGER_MS);
      lingering.unref();
    }
    handle(request);
  }
  flushReplies();
});
input.on("data", (chunk: Buffer) => decoder.push(chunk));
input.on("end", () => {
  registry.close();
  isolatePool.close();
  process.exit(0);
});
// a spare warms up (isolated-vm loaded, one throw-away mod run) before it is ready.
if (process.argv.includes("--prewarm")) prewarm();
writeAll(JSON.stringify({ t: "ready", pid: process.pid }));

/**
 * Entry point of the sandbox process: owns every isolate, runs the host's requests in order and
 * answers on fd 4. Started by ProcessBackend with --no-node-snapshot and nothing else.
 */
import { readSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { InstanceRegistry } from "../sandbox/instance-registry.js";
import type { SandboxBridge } from "../model/wire.js";
import { FrameDecoder, encodeFrame } from "./framing.js";
import { prewarm } from "./prewarm.js";
import { isolatePool } from "../sandbox/isolate-pool.js";
import { FD_CAPABILITY_REPLIES, FD_OUT, FD_REQUESTS, decodeCapabilityAnswer, type SandboxRequest } from "./protocol.js";

function writeAll(json: string): void {
  const frame = encodeFrame(json);
  let offset = 0;
  while (offset < frame.length) offset += writeSync(FD_OUT, frame, offset, frame.length - offset);
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

const bridge: SandboxBridge = {
  log(mod, level, message) {
    writeAll(JSON.stringify({ t: "log", mod, level, message }));
  },
  capability(call) {
    writeAll(JSON.stringify({ t: "cap", call }));
    const size = readExactly(4).readUInt32LE(0);
    return decodeCapabilityAnswer(readExactly(size).toString("utf8"));
  },
};

const registry = new InstanceRegistry(bridge, `p${process.argv[2] ?? "0"}`);

function handle(request: SandboxRequest): void {
  switch (request.op) {
    case "start":
      writeAll(JSON.stringify({ t: "res", id: request.id, value: registry.start(request.spec, request.seed, request.init) }));
      return;
    case "dispatch": {
      const outcome = registry.dispatch(request.instance, request.events, request.replay);
      const stop = outcome.stop === undefined ? "" : `,"stop":${JSON.stringify(outcome.stop)}`;
      const late = outcome.late ? `,"late":${outcome.late}` : "";
      // The results are already JSON text: forward them without parsing.
      writeAll(`{"t":"out","id":${request.id}${stop}${late},"results":${outcome.resultsJson}}`);
      return;
    }
    case "export":
      writeAll(JSON.stringify({ t: "res", id: request.id, value: registry.exportState(request.instance) }));
      return;
    case "stage":
      writeAll(JSON.stringify({ t: "res", id: request.id, value: registry.stage(request.instance, request.spec) }));
      return;
    case "commit":
      writeAll(JSON.stringify({ t: "res", id: request.id, value: registry.commit(request.instance, request.mode) }));
      return;
    case "adopt":
      writeAll(JSON.stringify({ t: "res", id: request.id, value: registry.adopt(request.instance, request.init) }));
      return;
    case "abort":
      registry.abortStaged(request.instance);
      writeAll(JSON.stringify({ t: "res", id: request.id, value: null }));
      return;
    case "heap":
      writeAll(JSON.stringify({ t: "res", id: request.id, value: registry.heap(request.instance) ?? null }));
      return;
    case "stop":
      registry.stop(request.instance);
      writeAll(JSON.stringify({ t: "res", id: request.id, value: null }));
      return;
    case "pool":
      // w17-cpu hook: a spare fills its pool while it waits (not answered: nobody waits on it).
      isolatePool.fill(request.memoryMb, Math.max(0, Math.min(1024, request.count)));
      return;
  }
}

const input = new Socket({ fd: FD_REQUESTS, readable: true, writable: false });
const decoder = new FrameDecoder((json) => {
  for (const request of JSON.parse(json) as SandboxRequest[]) handle(request);
});
input.on("data", (chunk: Buffer) => decoder.push(chunk));
input.on("end", () => {
  registry.close();
  isolatePool.close();
  process.exit(0);
});
// w17-cpu hook: a spare warms up (isolated-vm loaded, one throw-away mod run) before it is ready.
if (process.argv.includes("--prewarm")) prewarm();
writeAll(JSON.stringify({ t: "ready", pid: process.pid }));

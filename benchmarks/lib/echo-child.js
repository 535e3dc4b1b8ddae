// The IPC floor: echoes length-prefixed frames from fd 3 to fd 4 the way the sandbox process does
// (async socket read, JSON.parse, JSON.stringify, synchronous write), with no isolate in between,
// framed with the measured engine's own codec.
import { writeSync } from "node:fs";
import { Socket } from "node:net";
import { importEngineModule } from "./engine.js";

const { FrameDecoder, encodeFrame } = await importEngineModule("backends/framing.js");
const requests = new FrameDecoder((json) => {
  for (const request of JSON.parse(json)) {
    const frame = encodeFrame(JSON.stringify({ t: "out", id: request.id, results: [{ ok: true, value: request.events[0].payload.length }] }));
    let offset = 0;
    while (offset < frame.length) offset += writeSync(4, frame, offset, frame.length - offset);
  }
});
const input = new Socket({ fd: 3, readable: true, writable: false });
input.on("data", (chunk) => requests.push(chunk));
input.on("end", () => process.exit(0));

// The IPC floor: echoes length-prefixed frames from fd 3 to fd 4 the way the sandbox process does
// (async socket read, JSON.parse, JSON.stringify, synchronous write), with no isolate in between.
import { writeSync } from "node:fs";
import { Socket } from "node:net";

let buffered = Buffer.alloc(0);
const input = new Socket({ fd: 3, readable: true, writable: false });
input.on("data", (chunk) => {
  buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
  while (buffered.length >= 4) {
    const size = buffered.readUInt32LE(0);
    if (buffered.length < 4 + size) return;
    const requests = JSON.parse(buffered.toString("utf8", 4, 4 + size));
    buffered = buffered.subarray(4 + size);
    for (const request of requests) {
      const body = Buffer.from(JSON.stringify({ t: "out", id: request.id, results: [{ ok: true, value: request.events[0].payload.length }] }));
      const frame = Buffer.allocUnsafe(4 + body.length);
      frame.writeUInt32LE(body.length, 0);
      body.copy(frame, 4);
      let offset = 0;
      while (offset < frame.length) offset += writeSync(4, frame, offset, frame.length - offset);
    }
  }
});
input.on("end", () => process.exit(0));

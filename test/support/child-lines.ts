import type { Readable } from "node:stream";

/** Calls `onLine` with every complete line `stream` writes (a child's stdout), in order. */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let buffer = "";
  stream.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    for (const line of parts) onLine(line);
  });
}

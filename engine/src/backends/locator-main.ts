/**
 * The process a timeout is located in (backends/locator-process.ts): it reads one LocateRequest
 * (JSON) on stdin, runs it again with V8's line profiler (sandbox/timeout-locator.ts), writes the
 * hot spot (JSON, or null) on stdout and exits. It is its own process because isolated-vm's
 * inspector can take a process down with it (a SIGSEGV was seen when a profiled isolate was cut),
 * and neither the game (inline isolation) nor the shared sandbox may go with it.
 */
import { locateTimeout } from "../sandbox/timeout-locator.js";
import type { LocateRequest } from "../sandbox/sandbox-backend.js";

const chunks: Buffer[] = [];
process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as LocateRequest;
  locateTimeout(request).then(
    (spot) => process.stdout.write(JSON.stringify(spot), () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
});

/**
 * A game that holds the host's event loop (a long synchronous task) past a request's budget does
 * not get its sandbox process killed for it: a real sandbox process whose reply is bigger than the
 * pipe sits blocked writing it meanwhile, and the host reads it over many turns once it lets go.
 * (Found in the tick benchmark: the checkpoints of 100 mods, 1 MB of replies, while the next
 * runner held the loop for seconds.)
 */
import { afterEach, describe, expect, it } from "vitest";
import { ProcessBackend } from "./process-backend.js";
import type { CrashInfo } from "../sandbox/sandbox-backend.js";
import type { LoadSpec, SandboxBridge } from "../model/wire.js";
import { blockEventLoop } from "./event-loop.test-kit.js";

const backends: ProcessBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

const bridge: SandboxBridge = { log: () => undefined, capability: () => ({ late: false, reply: "{}" }) };

/** A mod `name` of one module `js`, with a short limit (its export's budget is 500 ms). */
function modSpec(name: string, js: string, extra: Partial<LoadSpec> = {}): LoadSpec {
  const base: LoadSpec = { name, version: "1.0.0", hash: `h-${name}`, entry: "main.ts", modules: [{ path: "main.ts", js, imports: {} }], permissions: [], memoryMb: 64, callTimeoutMs: 50, maxBytes: 16 << 20, maxLogsPerCall: 10 };
  return { ...base, ...extra };
}

/** A mod whose state holds `bytes` characters. */
const bigStateSpec = (bytes: number): LoadSpec => modSpec("big", `export default { init: () => ({ text: "x".repeat(${bytes}) }), on: { len(s) { return s.text.length; } } };`);

/**
 * A mod whose `chat` event logs `lines` lines of `length` characters (a generous log budget). Its
 * limit is 100 ms: the sandbox's work for 3000 lines is charged to the event and came near 50 ms
 * (cut as a timeout now and then on a loaded machine), and the dispatch's budget and grace (1432
 * ms) stay under the hold below.
 */
const chattySpec = (lines: number, length: number): LoadSpec =>
  modSpec("chatty", `export default { init: () => ({}), on: { chat() { for (let i = 0; i < ${lines}; i++) console.log("x".repeat(${length})); return ${lines}; } } };`, {
    callTimeoutMs: 100,
    maxLogsPerCall: lines,
    logLinesPerSecond: lines * 10,
    logBytesPerSecond: 64 << 20,
  });

describe("process backend: a game that holds the host's event loop", () => {
  it("does not kill the sandbox whose checkpoint, bigger than the pipe, waited to be read", async () => {
    const b = await ProcessBackend.create(bridge, { graceMs: 200, warmSpare: false });
    backends.push(b);
    const crashes: CrashInfo[] = [];
    b.onCrash((info) => crashes.push(info));
    const bytes = 4 << 20;
    const started = await b.start(bigStateSpec(bytes), [1, 2, 3, 4], { kind: "init", now: 0 });
    if (started.kind !== "ok") throw new Error(`start: ${started.kind}`);
    const exported = b.exportState(started.value.id);
    await new Promise((resolve) => setImmediate(resolve)); // its frame goes out at the end of the turn
    blockEventLoop(1500); // past the export's budget and grace (700 ms)
    const out = await exported;
    expect(crashes.map((c) => c.stderrTail)).toEqual([]);
    expect(out.kind).toBe("ok");
    if (out.kind === "ok") expect(out.value?.state.length).toBeGreaterThan(bytes);
    // The process is the same one, and serves on.
    expect((await b.dispatch(started.value.id, [{ seq: 1, name: "len", payload: "null", now: 0 }], false)).results).toEqual([{ ok: true, value: bytes }]);
  });

  // Long lines fill the socket's buffer in a few frames; short ones in many (each frame costs the
  // buffer more than its bytes), so the host's first read after the hold brings little.
  it.each([
    { lines: 500, length: 4000 },
    { lines: 3000, length: 100 },
  ])("does not kill the sandbox whose mod logged more than the socket holds meanwhile ($lines lines of $length)", async ({ lines: count, length }) => {
    let lines = 0;
    const b = await ProcessBackend.create({ ...bridge, log: () => void lines++ }, { graceMs: 200, warmSpare: false });
    backends.push(b);
    const crashes: CrashInfo[] = [];
    b.onCrash((info) => crashes.push(info));
    const started = await b.start(chattySpec(count, length), [1, 2, 3, 4], { kind: "init", now: 0 });
    if (started.kind !== "ok") throw new Error(`start: ${started.kind}`);
    const dispatched = b.dispatch(started.value.id, [{ seq: 1, name: "chat", payload: "null", now: 0 }], false);
    await new Promise((resolve) => setImmediate(resolve)); // its frame goes out at the end of the turn
    blockEventLoop(1500); // past the dispatch's budget and grace (1432 ms); the lines wait to be read
    const out = await dispatched;
    expect(crashes.map((c) => c.stderrTail)).toEqual([]);
    expect(out.results).toEqual([{ ok: true, value: count }]);
    expect(lines).toBe(count);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { ProcessBackend } from "./process-backend.js";
import type { CrashInfo } from "../sandbox/sandbox-backend.js";
import type { LoadSpec, SandboxBridge } from "../model/wire.js";

const backends: ProcessBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

const spec: LoadSpec = {
  name: "m",
  version: "1.0.0",
  hash: "h",
  entry: "main.ts",
  modules: [{ path: "main.ts", js: `export default { init: () => ({ n: 0 }), on: { inc(s) { return ++s.n; } } };`, imports: {} }],
  permissions: [],
  memoryMb: 32,
  callTimeoutMs: 1000,
  maxBytes: 1 << 20,
  maxLogsPerCall: 10,
};
const bridge: SandboxBridge = { log: () => undefined, capability: () => ({ late: false, reply: "{}" }) };

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 120_000; // generous: the machine is shared and loaded
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function inc(backend: ProcessBackend): Promise<unknown> {
  const started = await backend.start(spec, [1, 2, 3, 4], { kind: "init", now: 0 });
  if (started.kind !== "ok") throw new Error(`start: ${started.kind} ${started.error?.message ?? ""}`);
  const out = await backend.dispatch(started.value.id, [{ seq: 1, name: "inc", payload: "{}", now: 0 }], false);
  expect(out.stop).toBeUndefined();
  return out.results[0];
}

describe("warm spare sandbox process", () => {
  it("takes over at once when the sandbox process is killed, and a new spare is started", async () => {
    const backend = await ProcessBackend.create(bridge, { graceMs: 1000 });
    backends.push(backend);
    const crashes: CrashInfo[] = [];
    backend.onCrash((info) => crashes.push(info));
    expect(await inc(backend)).toEqual({ ok: true, value: 1 });
    await until("a spare is ready", () => backend.spareReady);
    const pid = backend.pid as number;
    const spare = backend.sparePid as number;
    expect(spare).not.toBe(pid);
    const generation = backend.generation;

    process.kill(pid, "SIGKILL");
    await until("the crash is seen", () => crashes.length === 1);
    expect(backend.pid).toBe(spare); // the spare is the sandbox now
    expect(backend.generation).toBe(generation + 1);
    expect(await inc(backend)).toEqual({ ok: true, value: 1 }); // answers (a fresh instance)

    await until("another spare is ready", () => backend.spareReady);
    expect(backend.sparePid).not.toBe(spare);
    expect(backend.sparePid).not.toBe(pid);
  }, 300_000);

  it("replaces a spare that dies before it is needed, and can run without one", async () => {
    const backend = await ProcessBackend.create(bridge, { graceMs: 1000 });
    backends.push(backend);
    await until("a spare is ready", () => backend.spareReady);
    const spare = backend.sparePid as number;
    process.kill(spare, "SIGKILL");
    await until("a new spare is ready", () => backend.spareReady && backend.sparePid !== spare);
    expect(await inc(backend)).toEqual({ ok: true, value: 1 });

    const bare = await ProcessBackend.create(bridge, { graceMs: 1000, warmSpare: false });
    backends.push(bare);
    expect(bare.sparePid).toBeUndefined();
    const crashes: CrashInfo[] = [];
    bare.onCrash((info) => crashes.push(info));
    process.kill(bare.pid as number, "SIGKILL");
    await until("the crash is seen", () => crashes.length === 1);
    expect(await inc(bare)).toEqual({ ok: true, value: 1 });
  }, 300_000);
});

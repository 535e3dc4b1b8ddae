/**
 * Requests sent behind a handover that is not answered yet (the host does not wait for it:
 * slot/swap-transaction.ts) run on the new version: the watchdog budgets them for the longer of
 * the two versions' limits (a real sandbox process, real isolates).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ProcessBackend } from "./process-backend.js";
import type { CrashInfo } from "../sandbox/sandbox-backend.js";
import type { LoadSpec, SandboxBridge } from "../model/wire.js";

const backends: ProcessBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

function spec(version: string, callTimeoutMs: number, work: string): LoadSpec {
  return {
    name: "m",
    version,
    hash: `h-${version}`,
    entry: "main.ts",
    modules: [{ path: "main.ts", js: `export default { init: () => ({}), on: { work() { ${work} } } };`, imports: {} }],
    permissions: [],
    memoryMb: 64,
    callTimeoutMs,
    maxBytes: 1 << 20,
    maxLogsPerCall: 10,
  };
}
const bridge: SandboxBridge = { log: () => undefined, capability: () => ({ late: false, reply: "{}" }) };

describe("a dispatch sent behind an unanswered handover", () => {
  it("gets the new version's longer limit: a handler within it is answered, and the watchdog kills nothing", async () => {
    const b = await ProcessBackend.create(bridge, { graceMs: 200, warmSpare: false });
    backends.push(b);
    const crashes: CrashInfo[] = [];
    b.onCrash((info) => crashes.push(info));
    const started = await b.start(spec("1.0.0", 20, "return 1;"), [1, 2, 3, 4], { kind: "init", now: 0 });
    if (started.kind !== "ok") throw new Error(`start: ${started.kind}`);
    const id = started.value.id;
    // v2 raises the limit to 10 s; its handler loops for 1-3 s (Date.now is logical time in a mod), past what 20 ms allows.
    expect((await b.stage(id, spec("2.0.0", 10_000, "let x = 0; for (let i = 0; i < 2e9; i++) x += i; return x > 0 ? 2 : 0;"))).kind).toBe("ok");
    const committed = b.commit(id, { kind: "handover" });
    const dispatched = await b.dispatch(id, [{ seq: 1, name: "work", payload: "null", now: 0 }], false);
    expect((await committed).kind).toBe("ok");
    expect(dispatched).toMatchObject({ results: [{ ok: true, value: 2 }] });
    expect(dispatched.stop).toBeUndefined();
    expect(crashes).toEqual([]);
  });
});

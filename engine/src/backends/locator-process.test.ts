import { describe, expect, it } from "vitest";
import type { LoadSpec } from "../model/wire.js";
import { STALLED_MESSAGE, locateInChild } from "./locator-process.js";

/** A mod whose `spin` loops on line 4 of its (plain JS) main module. */
function spec(memoryMb = 64): LoadSpec {
  return {
    name: "spinner",
    version: "1.0.0",
    hash: "h-spinner",
    entry: "main.ts",
    modules: [{ path: "main.ts", js: "export default { init: () => ({ n: 0 }), on: {\n  spin(s) {\n    for (;;) {\n      s.n++;\n    }\n  },\n} };\n", imports: {} }],
    permissions: [],
    memoryMb,
    callTimeoutMs: 50,
    maxBytes: 1 << 20,
    maxLogsPerCall: 10,
  };
}

describe("locateInChild", () => {
  it("finds the looping line in a child process, from the state before the event", async () => {
    const spot = await locateInChild({ spec: spec(), seed: [1, 2, 3, 4], now: 0, snapshot: { state: '{"n":0}', rng: [1, 2, 3, 4] }, event: { seq: 1, name: "spin", payload: "null", now: 0 } });
    expect(spot?.file).toBe("main.ts");
    expect([3, 4]).toContain(spot?.line);
  });

  it("answers null when the replay does not reach the mod's code (a state that cannot be imported)", async () => {
    const spot = await locateInChild({ spec: spec(), seed: [1, 2, 3, 4], now: 0, snapshot: { state: "{", rng: [1, 2, 3, 4] }, event: { seq: 1, name: "spin", payload: "null", now: 0 } });
    expect(spot).toBeNull();
  });

  it("rejects with how the child ended when the child fails (the caller says why the timeout has no line), and this process lives on", async () => {
    const broken = { spec: { ...spec(), modules: "not modules" as unknown as LoadSpec["modules"] }, seed: [1, 2, 3, 4], now: 0 };
    await expect(locateInChild(broken)).rejects.toThrow(/^the locating process ended with exit code 1: /);
  });
});

describe("locateInChild, a replay that reaches its memory limit", () => {
  // A profiled call that reaches its isolate's memory limit deadlocks its process (isolated-vm's
  // inspector): the answer must not wait for the locating budget (minutes for a 3 s limit).
  const grower: LoadSpec = {
    ...spec(8),
    callTimeoutMs: 3000,
    modules: [{ path: "main.ts", js: "export default { init: () => ({ n: 0 }), on: {\n  grow(s) {\n    const a = [];\n    for (let i = 0; ; i++) a[i] = i + 0.5;\n  },\n} };\n", imports: {} }],
  };

  it("answers null, or says the run stopped making progress, well before the budget", async () => {
    const outcome = await locateInChild({ spec: grower, seed: [1, 2, 3, 4], now: 0, snapshot: { state: '{"n":0}', rng: [1, 2, 3, 4] }, event: { seq: 1, name: "grow", payload: "null", now: 0 } }).then(
      (spot) => ({ spot }),
      (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
    );
    if ("error" in outcome) expect(outcome.error).toBe(STALLED_MESSAGE);
    else expect(outcome.spot).toBeNull();
  }, 60_000);
});

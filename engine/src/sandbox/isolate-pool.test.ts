import { afterEach, describe, expect, it } from "vitest";
import { isolatePool } from "./isolate-pool.js";
import { ModInstance } from "./mod-instance.js";
import type { LoadSpec, SandboxBridge } from "../model/wire.js";

const instances: ModInstance[] = [];
afterEach(() => {
  for (const i of instances.splice(0)) i.dispose();
  isolatePool.close();
});

const spec = (memoryMb: number): LoadSpec => ({
  name: "m",
  version: "1.0.0",
  hash: "h",
  entry: "main.ts",
  modules: [{ path: "main.ts", js: `export default { init: () => ({ n: 0 }), on: { inc(s) { return ++s.n; } } };`, imports: {} }],
  permissions: [],
  memoryMb,
  callTimeoutMs: 1000,
  maxBytes: 1 << 20,
  maxLogsPerCall: 10,
});
const bridge: SandboxBridge = { log: () => undefined, capability: () => ({ late: false, reply: "{}" }) };

describe("isolate pool", () => {
  it("hands a pre-made isolate (prelude run, nothing else) to a starting mod with the same memory limit", () => {
    expect(isolatePool.fill(32, 2)).toBe(2);
    expect(isolatePool.size).toBe(2);
    const other = ModInstance.create(spec(64), bridge, [1, 2, 3, 4]); // another limit: made fresh
    instances.push(other);
    expect(isolatePool.size).toBe(2);
    const instance = ModInstance.create(spec(32), bridge, [1, 2, 3, 4]);
    instances.push(instance);
    expect(isolatePool.size).toBe(1);
    expect(instance.initState(0).kind).toBe("ok");
    const out = instance.dispatch([{ seq: 1, name: "inc", payload: "{}", now: 0 }], false);
    expect(JSON.parse(out.resultsJson)).toEqual([1, 1]);
    expect(instance.heap()?.limitBytes).toBeLessThan(64 * 1024 * 1024); // the 32 MB isolate
  });
});

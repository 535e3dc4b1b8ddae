import { afterEach, describe, expect, it } from "vitest";
import { InstanceRegistry } from "./instance-registry.js";
import { specKey } from "./preloaded-versions.js";
import type { LoadSpec, SandboxBridge, WireEvent } from "../model/wire.js";

const bridge: SandboxBridge = {
  log: () => undefined,
  capability: () => ({ reply: JSON.stringify({ ok: false, code: "E_CAPABILITY_UNAVAILABLE", message: "none here", final: true }), late: false }),
};
const registries: InstanceRegistry[] = [];
afterEach(() => {
  for (const r of registries.splice(0)) r.close();
});
function registry(): InstanceRegistry {
  const r = new InstanceRegistry(bridge, "t");
  registries.push(r);
  return r;
}

/** A counter mod: `add` adds its payload; v2 doubles it; `migrate` multiplies the count by 10. */
function spec(version: string, add: string): LoadSpec {
  const js = `import { defineMod } from "@modhost/sdk";
export default defineMod({
  init: () => ({ n: 0 }),
  migrate: (old) => ({ n: old.n * 10 }),
  on: { add(s, by) { ${add}; return s.n; }, bad() { throw new Error("bad"); } },
});
`;
  return { name: "m", version, hash: `h${version}`, entry: "main.ts", modules: [{ path: "main.ts", js, imports: { "@modhost/sdk": "@modhost/sdk" } }], permissions: [], memoryMb: 32, callTimeoutMs: 1000, maxBytes: 1 << 20, maxLogsPerCall: 10 };
}
const v1 = spec("1.0.0", "s.n += by");
const v2 = spec("2.0.0", "s.n += 2 * by");
const add = (seq: number, by: number): WireEvent => ({ seq, name: "add", payload: JSON.stringify(by), now: seq });
const snapshot = { state: JSON.stringify({ n: 1 }), rng: [1, 2, 3, 4] };

describe("instance registry: handover", () => {
  it("drops the instance when a handover fails, so that the events the host sent behind it find it gone and do not run on the old version", () => {
    const r = registry();
    const started = r.restore({ spec: v1, snapshot, steps: [] });
    if (started.kind !== "ok") throw new Error(`restore: ${started.kind}`);
    const id = started.value.id;
    // Nothing staged: activate() fails (a lost isolate fails the same way, as "disposed" or "memory").
    expect(r.commit(id, { kind: "handover" }).kind).toBe("failed");
    expect(r.dispatch(id, [add(1, 1)], false)).toMatchObject({ count: 0, stop: "disposed" });
    expect(r.heap(id)).toBeUndefined();
  });
});

describe("instance registry: restore", () => {
  it("starts from the checkpoint and replays events and version changes in the journal's order", () => {
    const r = registry();
    const restored = r.restore({
      spec: v1,
      snapshot,
      steps: [
        { kind: "events", events: [add(1, 1), add(2, 1)] }, // 3
        { kind: "version", spec: v2, mode: { kind: "handover" } },
        { kind: "events", events: [add(3, 1)] }, // 5
        { kind: "version", spec: v1, mode: { kind: "migrate", fromVersion: "2.0.0", now: 4 } }, // 50
        { kind: "events", events: [add(5, 1)] }, // 51
      ],
    });
    expect(restored.kind).toBe("ok");
    if (restored.kind !== "ok") return;
    const state = r.exportState(restored.value.id);
    expect(state.kind === "ok" && JSON.parse(state.value.state)).toEqual({ n: 51 });
    // A dispatch says how long it ran (the checkpoint policy counts the events' own time).
    const next = r.dispatch(restored.value.id, [add(6, 1)], false);
    expect(next).toMatchObject({ count: 1 });
    expect(next.ranMs).toBeGreaterThan(0);
  });

  it("a replay that fails is reported and leaves no instance behind; a start that fails says so", () => {
    const r = registry();
    const failedReplay = r.restore({ spec: v1, snapshot, steps: [{ kind: "events", events: [add(1, 1), { seq: 2, name: "nope", payload: "null", now: 2 }] }] });
    // An event the mod does not handle answers an error result: still a full replay.
    expect(failedReplay.kind).toBe("ok");
    const broken = r.restore({ spec: { ...v1, modules: [{ path: "main.ts", js: "throw new Error('at load')", imports: {} }] }, snapshot, steps: [] });
    expect(broken.kind).toBe("start-failed");
    const badVersion = r.restore({ spec: v1, snapshot, steps: [{ kind: "version", spec: { ...v2, modules: [{ path: "main.ts", js: "throw new Error('at load')", imports: {} }] }, mode: { kind: "handover" } }] });
    expect(badVersion).toMatchObject({ kind: "replay-failed", lost: false });
    expect(badVersion.kind === "replay-failed" && badVersion.why).toMatch(/staging version 2\.0\.0/);
    // Only the first restore's instance is left.
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) if (r.heap(`t:m#${i}`) !== undefined) ids.push(`t:m#${i}`);
    expect(ids).toEqual(["t:m#1"]);
  });
});

describe("instance registry: preloaded versions (a spare's)", () => {
  it("a restore of exactly a preloaded version takes it and imports its state; others load as before; keep drops the rest", () => {
    const r = registry();
    r.preload([specKey(v1), specKey(v2)], [v1, v2]);
    expect(r.preloaded).toBe(2);
    // A spec that differs in anything (here the time limit) is another version: loaded as before.
    const other = r.restore({ spec: { ...v1, callTimeoutMs: 999 }, snapshot, steps: [{ kind: "events", events: [add(1, 1)] }] });
    expect(other.kind).toBe("ok");
    expect(r.preloaded).toBe(2);
    const restored = r.restore({ spec: v1, snapshot, steps: [{ kind: "events", events: [add(1, 2)] }] });
    expect(r.preloaded).toBe(1);
    expect(restored.kind).toBe("ok");
    if (restored.kind !== "ok") return;
    const state = r.exportState(restored.value.id);
    expect(state.kind === "ok" && JSON.parse(state.value.state)).toEqual({ n: 3 });
    expect(state.kind === "ok" && state.value.rng).not.toEqual([0, 0, 0, 1]); // the checkpoint's generator, not the preload's seed
    // A start with init() never takes one: its seed makes its state.
    expect(r.start(v2, [1, 2, 3, 4], { kind: "init", now: 0 }).kind).toBe("ok");
    expect(r.preloaded).toBe(1);
    r.preload([], []);
    expect(r.preloaded).toBe(0);
  });
});

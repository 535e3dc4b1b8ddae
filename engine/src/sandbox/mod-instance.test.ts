import { afterEach, describe, expect, it } from "vitest";
import { ModInstance } from "./mod-instance.js";
import { StarvedEvents } from "./cpu-budget.js";
import type { LoadSpec, SandboxBridge, WireEvent } from "../model/wire.js";
import { decodeResultList } from "../model/result-list.js";

const instances: ModInstance[] = [];
afterEach(() => {
  for (const i of instances.splice(0)) i.dispose();
});

function spec(js: string, extra: Partial<LoadSpec> = {}): LoadSpec {
  return {
    name: "m",
    version: "1.0.0",
    hash: "h",
    entry: "main.ts",
    modules: [{ path: "main.ts", js, imports: { "@modhost/sdk": "@modhost/sdk" } }],
    permissions: [],
    memoryMb: 32,
    callTimeoutMs: 50,
    maxBytes: 1 << 20,
    maxLogsPerCall: 100,
    ...extra,
  };
}
const logs: string[] = [];
const bridge: SandboxBridge = {
  log: (_m, level, message) => void logs.push(`${level}:${message}`),
  capability: (call) => ({ reply: JSON.stringify({ ok: true, value: `${call.permission}${call.args}` }), late: false }),
};
/** The starved events the instances of this file share (as a registry's do). */
const starved = new StarvedEvents();
function start(js: string, extra: Partial<LoadSpec> = {}): ModInstance {
  const i = ModInstance.create(spec(js, extra), bridge, [1, 2, 3, 4], { starved });
  instances.push(i);
  expect(i.initState(1000).kind).toBe("ok");
  return i;
}
const ev = (seq: number, name: string, payload: unknown = {}): WireEvent => ({ seq, name, payload: JSON.stringify(payload), now: 5000 + seq });
/**
 * Dispatches as a slot does: a call cut while the loaded machine starved the thread stops as
 * "lost" (sandbox/cpu-budget.ts), and the rest runs again, once, with the wall backstop.
 */
function dispatchAsSlot(i: ModInstance, events: readonly WireEvent[]): { stop: string | undefined; count: number } {
  const first = i.dispatch(events, false);
  if (first.stop !== "lost") return { stop: first.stop, count: first.count };
  const rerun = i.dispatch(events.slice(first.count), false);
  return { stop: rerun.stop, count: first.count + rerun.count };
}
const results = (json: string) => decodeResultList(JSON.parse(json) as unknown[]) as { ok: boolean; value?: unknown; error?: { code: string; message: string } }[];

describe("mod instance", () => {
  it("runs handlers in order against the state and returns their results", () => {
    const i = start(`import { defineMod } from "@modhost/sdk";
      export default defineMod({ init: () => ({ n: 0 }), on: { hit(s, e) { s.n += e.by; return s.n; } } });`);
    expect(i.shape.events).toEqual(["hit"]);
    const out = i.dispatch([ev(1, "hit", { by: 2 }), ev(2, "hit", { by: 3 })], false);
    expect(out.stop).toBeUndefined();
    expect(results(out.resultsJson).map((r) => r.value)).toEqual([2, 5]);
    const snap = i.exportState();
    expect(snap.kind === "ok" && JSON.parse(snap.value.state)).toEqual({ n: 5 });
  });

  it("calls each handler with its on object as this, and follows handlers mod code replaces", () => {
    const i = start(`const on = {
        who() { return this === on; },
        swap() { on.who = function () { return ["replaced", this === on, arguments.length]; }; return "swapped"; },
        back() { delete on.who; return "removed"; },
      };
      export default { on };`);
    const out = results(i.dispatch([ev(1, "who"), ev(2, "who"), ev(3, "swap"), ev(4, "who"), ev(5, "back"), ev(6, "who")], false).resultsJson);
    expect(out.slice(0, 5).map((r) => r.value)).toEqual([true, true, "swapped", ["replaced", true, 3], "removed"]);
    expect(out[5]?.error?.code).toBe("E_THREW");
    expect(out[5]?.error?.message).toMatch(/no handler for "who"/);
  });

  it("times out an infinite loop and reports the events before it", () => {
    const i = start(`export default { on: { ok() { return 1; }, spin() { for (;;) {} } } };`);
    const out = dispatchAsSlot(i, [ev(1, "ok"), ev(2, "spin"), ev(3, "ok")]);
    expect(out.stop).toBe("timeout");
    expect(out.count).toBe(1);
    expect(i.dead).toBe(false);
  });

  it("blocks eval and every Function constructor route", () => {
    const i = start(`export default { on: { probe() {
      const tries = [
        () => eval("1"), () => Function("return 1")(), () => new Function("return 1")(),
        () => (() => {}).constructor("return 1")(), () => (async () => {}).constructor("return 1"),
        () => (function*(){}).constructor("return 1"), () => (async function*(){}).constructor("return 1"),
        () => Object.getPrototypeOf(Function).constructor("return 1"),
        () => Reflect.construct(Function.prototype.constructor, ["return 1"]),
      ];
      return tries.map((t) => { try { t(); return "escaped"; } catch (e) { return e.name; } });
    }, globals() { return ["WebAssembly","SharedArrayBuffer","Atomics","FinalizationRegistry","WeakRef","setTimeout"].map((n) => typeof globalThis[n]).concat(Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith("__modhost")).map(() => "leaked")); },
       fn() { return (function(){}) instanceof Function; } } };`);
    const [probe, globals, fn] = results(i.dispatch([ev(1, "probe"), ev(2, "globals"), ev(3, "fn")], false).resultsJson);
    expect(probe?.value).toEqual(Array(9).fill("EvalError"));
    expect(globals?.value).toEqual(Array(6).fill("undefined"));
    expect(fn?.value).toBe(true);
  });

  it("gives logical time and seeded random numbers", () => {
    const js = `export default { on: { t() { return [Date.now(), new Date().getTime(), Math.random(), new Intl.DateTimeFormat("en-US", { timeZone: "UTC", year: "numeric" }).format(), new Intl.DateTimeFormat("en-US", { timeZone: "UTC", year: "numeric" }).formatToParts()[0].value]; } } };`;
    // The first Intl use in a process costs 70-100 ms on every Node: a generous limit, this test is about determinism.
    const a = start(js, { callTimeoutMs: 5000 }), b = start(js, { callTimeoutMs: 5000 });
    const ra = results(a.dispatch([ev(1, "t")], false).resultsJson)[0]?.value as number[];
    const rb = results(b.dispatch([ev(1, "t")], false).resultsJson)[0]?.value as number[];
    expect(ra[0]).toBe(5001);
    expect(ra[1]).toBe(5001);
    expect(ra[3]).toBe("1970"); // formatting "now" reads the logical time too
    expect(ra[4]).toBe("1970");
    expect(ra).toEqual(rb);
  });

  it("survives a memory bomb by reporting memory and dying alone", () => {
    const i = start(`export default { on: { bomb() { const a = []; for (;;) a.push(new Array(1e5).fill(1)); } } };`, { callTimeoutMs: 5000 });
    const out = i.dispatch([ev(1, "bomb")], false);
    expect(out.stop).toBe("memory");
    expect(i.dead).toBe(true);
  });

  it("refuses hostile results as data errors", () => {
    const i = start(`export default { on: {
      cyc() { const a = {}; a.a = a; return a; },
      deep() { let v = {}; for (let i = 0; i < 1e5; i++) v = { v }; return v; },
      map() { return new Map(); },
      getter() { return { get x() { for (;;) {} } }; },
      prox() { return new Proxy({}, { ownKeys() { for (;;) {} } }); },
      big() { return "x".repeat(2e6); },
    } };`, { callTimeoutMs: 1000 });
    const out = results(i.dispatch([ev(1, "cyc"), ev(2, "deep"), ev(3, "map"), ev(4, "big")], false).resultsJson);
    expect(out.map((r) => r.error?.code)).toEqual(["E_NOT_PLAIN_DATA", "E_NOT_PLAIN_DATA", "E_NOT_PLAIN_DATA", "E_TOO_LARGE"]);
    expect(dispatchAsSlot(i, [ev(5, "getter")]).stop).toBe("timeout");
    expect(dispatchAsSlot(i, [ev(6, "prox")]).stop).toBe("timeout");
  });

  it("calls capabilities and logs through the bridge", () => {
    logs.length = 0;
    const i = start(`export default { on: { go(s, e, ctx) { console.log("hi", { a: 1 }); return ctx.host.say(1, "x"); } } };`, { permissions: ["say"] });
    expect(results(i.dispatch([ev(1, "go")], false).resultsJson)[0]?.value).toBe('say[1,"x"]');
    expect(logs).toEqual(['info:hi {"a":1}']);
  });
  it("the rerun of an event cut while starved does not send again the lines its cut attempt sent", () => {
    const i = start(`import { defineMod } from "@modhost/sdk";
      export default defineMod({ init: () => ({ n: 0 }), on: { talk(s) { s.n++; console.log("line 1 of", s.n); console.log("line 2 of", s.n); console.log("line 3 of", s.n); return s.n; } } });`);
    // As after a starved cut of event 8 that had sent two lines, and a restore of the state before it.
    starved.add("m", 8, 2);
    logs.length = 0;
    const out = i.dispatch([ev(7, "talk"), ev(8, "talk")], false);
    expect(out.stop).toBeUndefined();
    expect(logs).toEqual(["info:line 1 of 1", "info:line 2 of 1", "info:line 3 of 1", "info:line 3 of 2"]);
    logs.length = 0;
    i.dispatch([ev(9, "talk")], false);
    expect(logs).toEqual(["info:line 1 of 3", "info:line 2 of 3", "info:line 3 of 3"]);
  });
  it("an owner's starved events are its own: another owner's instance of the same mod runs the same seq in full", () => {
    const js = `export default { on: { talk() { console.log("line 1"); console.log("line 2"); } } };`;
    starved.add("m", 5, 1);
    const other = ModInstance.create(spec(js), bridge, [1, 2, 3, 4]); // its own (fresh) StarvedEvents
    instances.push(other);
    logs.length = 0;
    other.dispatch([ev(5, "talk")], false);
    expect(logs).toEqual(["info:line 1", "info:line 2"]);
    logs.length = 0;
    start(js).dispatch([ev(5, "talk")], false); // this file's owner: the entry is still there
    expect(logs).toEqual(["info:line 2"]);
  });
});

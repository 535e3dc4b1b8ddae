/**
 * The prelude's plain-data walk (engine/runtime/prelude.ts, toJson) against the serializer it
 * replaced: JSON.stringify with a checking replacer. The old serializer runs as mod code in the same
 * isolate, on a value built the same way, and both must answer the same text or the same error
 * (code and message) for every rule: primitives, undefined, holes, non-plain objects, toJSON,
 * getters, Proxies, cycles, shared objects, depth and size. Also the seeded random generator
 * against the sfc32 it replaced, word for word.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ModInstance } from "./mod-instance.js";
import type { LoadSpec, SandboxBridge, WireEvent } from "../model/wire.js";

const instances: ModInstance[] = [];
afterEach(() => {
  for (const i of instances.splice(0)) i.dispose();
});

const MAX_BYTES = 400;

/**
 * The serializer the walk replaced, as it was (with its engine errors as { code } errors), but for
 * one fix both now share: a RangeError that mod code throws (a getter, a toJSON) is reported as
 * thrown, not taken for the stack running out ("nested too deeply").
 */
const OLD_TO_JSON = `
  let jsonBudget = Infinity;
  function sandboxError(code, message) { const e = new Error(message); e.code = code; return e; }
  function plainReplacer(key, value) {
    const raw = this[key];
    checkPlain(this, key, raw);
    if (value !== raw) checkPlain(this, key, value);
    if (value === undefined) return value;
    if (jsonBudget !== Infinity) {
      let cost = typeof value === "string" ? value.length + 2 : 1;
      if (key !== "" && !Array.isArray(this)) cost += key.length + 3;
      jsonBudget -= cost;
      if (jsonBudget < 0) throw sandboxError("E_TOO_LARGE", "over the size limit");
    }
    return value;
  }
  function checkPlain(holder, key, raw) {
    switch (typeof raw) {
      case "string": case "boolean": return;
      case "number":
        if (!Number.isFinite(raw)) throw sandboxError("E_NOT_PLAIN_DATA", describeKey(key) + " is " + String(raw) + ", which JSON cannot hold");
        return;
      case "object": {
        if (raw === null) return;
        const proto = Object.getPrototypeOf(raw);
        if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
          const ctor = proto && typeof proto.constructor === "function" ? proto.constructor.name : "";
          throw sandboxError("E_NOT_PLAIN_DATA", describeKey(key) + " is a " + (ctor || "non-plain object") + "; only plain objects, arrays, strings, finite numbers, booleans and null cross the sandbox");
        }
        return;
      }
      default:
        if (raw === undefined && key !== "" && !Array.isArray(holder)) return;
        throw sandboxError("E_NOT_PLAIN_DATA", describeKey(key) + " is a " + typeof raw + "; only plain data crosses the sandbox");
    }
  }
  function describeKey(key) { return key === "" ? "the value" : 'field "' + key + '"'; }
  function oldToJson(value, what, maxBytes) {
    let text;
    const outer = jsonBudget;
    jsonBudget = maxBytes;
    try {
      text = JSON.stringify(value, plainReplacer);
    } catch (err) {
      const code = err && err.code;
      if (code === "E_TOO_LARGE") throw sandboxError(code, what + " is over the " + maxBytes + " character limit");
      if (code !== undefined) throw sandboxError(code, what + ": " + err.message);
      if (err instanceof RangeError && err.message === "Maximum call stack size exceeded") throw sandboxError("E_NOT_PLAIN_DATA", what + " is nested too deeply");
      if (err instanceof TypeError && /circular/i.test(String(err.message))) throw sandboxError("E_NOT_PLAIN_DATA", what + " is cyclic");
      throw err;
    } finally {
      jsonBudget = outer;
    }
    if (text === undefined) return "null";
    if (text.length > maxBytes) throw sandboxError("E_TOO_LARGE", what + " is " + text.length + " characters, over the " + maxBytes + " limit");
    return text;
  }
`;

/** Values to cross, each built fresh per call (name -> JavaScript expression). */
const CASES: Record<string, string> = {
  // primitives
  string: `"plain"`,
  escapes: `"q\\"b\\\\n\\n\\t\\u0001\\u2028 é 😀"`,
  loneSurrogate: `"a\\ud800b"`,
  numbers: `[0, -0, 1.5, -2e-7, 1e21, 123456789012345680000, 5e-324]`,
  booleansNull: `[true, false, null]`,
  nan: `NaN`,
  infinityField: `({ x: Infinity })`,
  minusInfinityInArray: `[1, -Infinity]`,
  // undefined, functions, symbols, bigints
  undefinedField: `({ a: undefined, b: 1 })`,
  undefinedEmptyKey: `({ "": undefined })`,
  undefinedInArray: `[1, undefined]`,
  hole: `[1, , 3]`,
  functionRoot: `(() => 1)`,
  functionField: `({ f() {} })`,
  functionInArray: `[() => 1]`,
  symbolRoot: `Symbol("s")`,
  symbolField: `({ s: Symbol("s") })`,
  symbolKey: `({ [Symbol("k")]: 1, a: 2 })`,
  bigintField: `({ score: 1n })`,
  // objects and arrays
  empty: `[{}, [], { a: [] }]`,
  nested: `({ a: { b: [1, { c: "d" }] }, e: [[[]]] })`,
  keyOrder: `({ b: 1, 2: "two", a: 2, 1: "one", "": "empty" })`,
  protoKey: `JSON.parse('{"__proto__": {"x": 1}, "y": 2}')`,
  quotedKeys: `({ 'we"ird\\nkey': 1, "é": 2 })`,
  nullProto: `Object.assign(Object.create(null), { a: 1 })`,
  nullProtoArray: `Object.setPrototypeOf([1, 2], null)`,
  nonEnumerable: `Object.defineProperty({ a: 1 }, "hidden", { value: 2, enumerable: false })`,
  arrayExtraProps: `Object.assign([1, 2], { extra: 3 })`,
  shared: `(() => { const x = { v: 1 }; return { a: x, b: x, c: [x, x] }; })()`,
  map: `new Map([["a", 1]])`,
  set: `new Set([1])`,
  date: `new Date(0)`,
  classInstance: `new (class Player { hp = 1; })()`,
  typedArray: `new Uint8Array(4)`,
  error: `new Error("e")`,
  boxedNumber: `({ n: new Number(1) })`,
  anonymousProto: `Object.create({})`,
  // toJSON
  toJSONOwn: `({ a: 1, toJSON: () => ({ b: 2 }) })`,
  toJSONKey: `({ k1: { toJSON: (k) => "key " + k }, arr: [{ toJSON: (k) => "index " + k }] })`,
  toJSONRoot: `({ toJSON: (k) => "root [" + k + "]" })`,
  toJSONMap: `({ toJSON: () => new Map([["k", 1]]) })`,
  toJSONFunction: `({ a: { toJSON: () => () => 1 } })`,
  toJSONNaN: `({ a: { toJSON: () => NaN } })`,
  toJSONBigInt: `[{ toJSON: () => 5n }]`,
  toJSONUndefinedField: `({ a: { toJSON: () => undefined }, b: 1 })`,
  toJSONUndefinedInArray: `[{ toJSON: () => undefined }]`,
  toJSONUndefinedRoot: `({ toJSON: () => undefined })`,
  toJSONSelf: `(() => { const o = { a: 1, toJSON() { return o; } }; return o; })()`,
  toJSONOnce: `({ a: { toJSON: () => ({ toJSON: () => "twice", x: 1 }) } })`,
  toJSONChildren: `({ a: { toJSON: () => ({ b: { toJSON: () => "child" } }) } })`,
  toJSONOnDate: `({ d: new Date(0) })`,
  toJSONThrows: `({ a: { toJSON() { throw new Error("toJSON says no"); } } })`,
  valueOf: `({ valueOf() { return 1; } })`,
  // getters and proxies
  getter: `({ get a() { return [1, 2]; }, b: 3 })`,
  getterThrows: `({ get b() { throw new Error("getter says no"); } })`,
  getterNaN: `({ get b() { return NaN; } })`,
  proxyObject: `new Proxy({ a: 1, b: { c: 2 } }, {})`,
  proxyArray: `new Proxy([1, "x"], {})`,
  proxyTraps: `new Proxy({}, { ownKeys: () => ["a", "b"], getOwnPropertyDescriptor: () => ({ value: 0, enumerable: true, configurable: true }), get: (t, k) => k + "!" })`,
  proxyLength: `new Proxy([], { get: (t, k) => (k === "length" ? "2" : k === "0" || k === "1" ? 7 : undefined) })`,
  proxyBadLength: `new Proxy([], { get: (t, k) => (k === "length" ? -5 : undefined) })`,
  proxyMapProto: `new Proxy({}, { getPrototypeOf: () => Map.prototype })`,
  revokedProxy: `(() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; })()`,
  // cycles and depth
  cyclicObject: `(() => { const o = { a: 1 }; o.self = { back: o }; return o; })()`,
  cyclicArray: `(() => { const a = [1]; a.push(a); return a; })()`,
  cyclicViaToJSON: `(() => { const o = { a: {} }; o.a.toJSON = () => o; return o; })()`,
  deep1000: `(() => { let v = 0; for (let i = 0; i < 1000; i++) v = [v]; return v; })()`,
  deepArrays: `(() => { let v = 0; for (let i = 0; i < 1e5; i++) v = [v]; return v; })()`,
  deepObjects: `(() => { let v = {}; for (let i = 0; i < 1e5; i++) v = { v }; return v; })()`,
  // size (MAX_BYTES characters)
  bigString: `"x".repeat(${MAX_BYTES + 1})`,
  manyNumbers: `new Array(${MAX_BYTES}).fill(7)`,
  longNumbers: `new Array(60).fill(123456.789)`,
  escapedString: `"\\u0001".repeat(${Math.floor(MAX_BYTES / 3)})`,
  justFits: `"y".repeat(${MAX_BYTES - 2})`,
  // flat plain objects (the quick check's commonest case, isQuickPlain): members of every kind, a toJSON
  // however defined, and sizes around the limit. The walk counts { and each "key": and value, not
  // the closing }, so its count passes text one character over, which the text's length refuses.
  flatMixed: `({ s: "x", n: -1.5, t: true, f: false, z: null, "": "empty", 3: 4 })`,
  flatUndefined: `({ a: 1, u: undefined })`,
  flatNaN: `({ a: 1, b: NaN })`,
  flatNested: `({ a: 1, b: { c: 2 } })`,
  flatToJSONNull: `({ a: 1, toJSON: null })`,
  flatToJSONHidden: `Object.defineProperty({ a: 1 }, "toJSON", { value: () => new Map() })`,
  flatTextFits: `({ k: "y".repeat(${MAX_BYTES - 8}) })`,
  flatTextOneOver: `({ k: "y".repeat(${MAX_BYTES - 7}) })`,
  flatCountOneOver: `({ k: "y".repeat(${MAX_BYTES - 6}) })`,
  flatManyKeysOver: `Object.fromEntries(Array.from({ length: ${MAX_BYTES / 8} }, (_, i) => ["k" + (i % 10) + String(i).padStart(3, "0"), 1]))`,
  flatEmptyKeyFits: `({ "": "y".repeat(${MAX_BYTES - 7}) })`,
  flatEmptyKeyOver: `({ "": "y".repeat(${MAX_BYTES - 6}) })`,
  // plain trees (the quick check, isQuickPlain): nested objects and arrays of every member kind,
  // what sends them to the walk (undefined or a hole in an array, NaN deep down, a null
  // prototype, a toJSON, a depth past QUICK_DEPTH, a Proxy), and sizes around the limit nested:
  // { "a": { "k": "y..." } } is its string's length + 14 characters, counted 12 by the walk.
  treeNested: `({ a: { b: [1, "x", null, { c: true, u: undefined }] }, d: [[1], [], {}] })`,
  treeArrayUndefined: `({ a: [1, undefined] })`,
  treeArrayHole: `({ a: [[1, , 2]] })`,
  treeNestedNaN: `({ a: { b: [1, NaN] } })`,
  treeNestedFunction: `[{ a: [() => 1] }]`,
  treeNullProtoMember: `({ a: Object.assign(Object.create(null), { b: 1 }) })`,
  treeToJSONMember: `({ a: [{ b: 1, toJSON: () => "member" }] })`,
  treeDeepObjects: `(() => { let v = { x: 1 }; for (let i = 0; i < 14; i++) v = { v }; return v; })()`,
  treeDeepArrays: `(() => { let v = [1]; for (let i = 0; i < 14; i++) v = [v]; return v; })()`,
  treeProxyMember: `({ a: new Proxy([1, { b: 2 }], {}), c: new Proxy({ d: [3] }, {}) })`,
  treeShared: `(() => { let v = { x: 1 }; for (let i = 0; i < 4; i++) v = { a: v, b: [v] }; return v; })()`,
  treeCyclic: `(() => { const o = { a: { b: [1] } }; o.a.b.push(o); return o; })()`,
  treeAtDepthLimit: `(() => { let v = [1]; for (let i = 0; i < 12; i++) v = { v }; return v; })()`,
  treeOverDepthLimit: `(() => { let v = [1]; for (let i = 0; i < 13; i++) v = { v }; return v; })()`,
  treeArrayObjectProto: `Object.setPrototypeOf([1, , 3], Object.prototype)`,
  treeArrayObjectProtoNested: `({ a: Object.setPrototypeOf([undefined], Object.prototype) })`,
  treeProxyArrayObjectProto: `({ a: new Proxy([1, , 3], { getPrototypeOf: () => Object.prototype }) })`,
  treeRootArrayFits: `[["y".repeat(${MAX_BYTES - 6})]]`,
  treeTextFits: `({ a: { k: "y".repeat(${MAX_BYTES - 14}) } })`,
  treeTextOneOver: `({ a: { k: "y".repeat(${MAX_BYTES - 13}) } })`,
  treeCountOneOver: `({ a: { k: "y".repeat(${MAX_BYTES - 11}) } })`,
  treeArrayCountOver: `[[${"1,".repeat(MAX_BYTES / 2)}1]]`,
  treeEmptyOver: `new Array(${MAX_BYTES}).fill({})`,
  // a RangeError a getter or toJSON throws is the mod's own, not the walk running out of stack
  getterRangeError: `({ get a() { return "x".repeat(-1); } })`,
  nestedGetterRangeError: `({ a: { get b() { throw new RangeError("no range"); } } })`,
  toJSONRangeError: `[{ toJSON() { return new Array(-1); } }]`,
};

function spec(js: string): LoadSpec {
  return {
    name: "plain",
    version: "1.0.0",
    hash: "h",
    entry: "main.ts",
    modules: [{ path: "main.ts", js, imports: {} }],
    permissions: [],
    memoryMb: 64,
    callTimeoutMs: 5000,
    maxBytes: MAX_BYTES,
    maxLogsPerCall: 100,
  };
}
const bridge: SandboxBridge = { log: () => undefined, capability: () => ({ reply: `{"ok":true}`, late: false }) };
const ev = (seq: number, name: string, payload: unknown = {}): WireEvent => ({ seq, name, payload: JSON.stringify(payload), now: 5000 + seq });

function start(js: string, seed: readonly number[] = [1, 2, 3, 4]): ModInstance {
  const i = ModInstance.create(spec(js), bridge, seed);
  instances.push(i);
  expect(i.initState(1000).kind).toBe("ok");
  return i;
}

/**
 * The exact text of the one result of a dispatch of one event, written as an envelope
 * `{"ok":true,"value":<its text>}` (or `{"ok":true}`, `{"ok":false,"error":<its text>}`) from its
 * tagged pair (model/result-list.ts), so that the value's text is compared as the isolate wrote it.
 */
function oneResult(i: ModInstance, event: WireEvent): string {
  const out = i.dispatch([event], false);
  expect(out.stop).toBeUndefined();
  expect(out.count).toBe(1);
  const list = out.resultsJson;
  if (list === "[2,0]") return `{"ok":true}`;
  const body = list.slice(3, -1);
  if (list.startsWith("[1,")) return `{"ok":true,"value":${body}}`;
  expect(list.startsWith("[0,")).toBe(true);
  return `{"ok":false,"error":${body}}`;
}

describe("plain-data walk", () => {
  it("answers what JSON.stringify with the checking replacer answered, for every rule", () => {
    const js = `${OLD_TO_JSON}
      const CASES = { ${Object.entries(CASES)
        .map(([name, expr]) => `${JSON.stringify(name)}: () => (${expr})`)
        .join(",\n")} };
      let oldText = "";
      export default { on: {
        value(s, p) { return CASES[p.name](); },
        // The old text may be as large as a result may be: handed out in parts.
        old(s, p) {
          try {
            const v = CASES[p.name]();
            // The check the prelude makes on a handler's value before serializing it (checkSync).
            if (v instanceof Promise || (typeof v === "object" && v !== null && typeof v.then === "function")) throw new Error("a Promise");
            oldText = oldToJson(v, "the result of on.value()", ${MAX_BYTES});
            return { length: oldText.length };
          }
          catch (e) { return { code: e.code ?? "E_THREW", message: e.code ? e.message : e.name + ": " + e.message }; }
        },
        oldPart(s, p) { return oldText.slice(p.from, p.from + 100); },
      } };`;
    const i = start(js);
    let seq = 0;
    const differ: string[] = [];
    for (const name of Object.keys(CASES)) {
      const now = oneResult(i, ev(++seq, "value", { name }));
      const old = JSON.parse(oneResult(i, ev(++seq, "old", { name }))) as { ok: true; value: { length?: number; code?: string; message?: string } };
      expect(old.ok, name).toBe(true);
      let text: string | undefined;
      if (old.value.length !== undefined) {
        text = "";
        for (let from = 0; from < old.value.length; from += 100) text += (JSON.parse(oneResult(i, ev(++seq, "oldPart", { from }))) as { value: string }).value;
      }
      const expected = text !== undefined ? `{"ok":true,"value":${text}}` : undefined;
      if (expected !== undefined) {
        if (now !== expected) differ.push(`${name}: ${now.slice(0, 200)} != ${expected.slice(0, 200)}`);
        continue;
      }
      const got = JSON.parse(now) as { ok: boolean; error?: { code: string; message: string } };
      if (got.ok || got.error?.code !== old.value.code || got.error?.message !== old.value.message) {
        differ.push(`${name}: ${JSON.stringify(got).slice(0, 300)} != ${JSON.stringify(old.value)}`);
      }
    }
    expect(differ).toEqual([]);
  });

  it("checks each position, then JSON.stringify writes it: a getter or toJSON runs twice", () => {
    const i = start(`let reads = 0, calls = 0;
      export default { on: {
        flat() { return { get a() { reads++; return 1; }, c: "x" }; },
        // The toJSON comes first: the quick check leaves the value to the walk before the getter.
        nested() { return { b: { c: { toJSON() { calls++; return 2; } }, get a() { reads++; return 1; } } }; },
        count() { return [reads, calls]; },
      } };`);
    expect(oneResult(i, ev(1, "flat"))).toBe(`{"ok":true,"value":{"a":1,"c":"x"}}`);
    expect(oneResult(i, ev(2, "count"))).toBe(`{"ok":true,"value":[2,0]}`);
    expect(oneResult(i, ev(3, "nested"))).toBe(`{"ok":true,"value":{"b":{"c":2,"a":1}}}`);
    expect(oneResult(i, ev(4, "count"))).toBe(`{"ok":true,"value":[4,2]}`);
  });

  it("lets a flat object's non-enumerable then pass as data, and answers E_ASYNC_HANDLER for an enumerable one or a Promise", () => {
    const i = start(`export default { on: {
        hidden() { return Object.defineProperty({ a: 1 }, "then", { value: () => 1 }); },
        shown() { return { a: 1, then() {} }; },
        promise() { return Promise.resolve(1); },
      } };`);
    expect(oneResult(i, ev(1, "hidden"))).toBe(`{"ok":true,"value":{"a":1}}`);
    expect(JSON.parse(oneResult(i, ev(2, "shown"))).error).toMatchObject({ code: "E_ASYNC_HANDLER" });
    expect(JSON.parse(oneResult(i, ev(3, "promise"))).error).toMatchObject({ code: "E_ASYNC_HANDLER" });
  });

  it("sends a flat object to the walk once mod code put a non-enumerable toJSON on Object.prototype", () => {
    const i = start(`export default { on: {
        value() {
          Object.defineProperty(Object.prototype, "toJSON", { value() { return new Map(); }, configurable: true });
          return { a: 1 };
        },
      } };`);
    expect(JSON.parse(oneResult(i, ev(1, "value"))).error).toMatchObject({ code: "E_NOT_PLAIN_DATA", message: expect.stringMatching(/Map/) });
  });

  it("reads a getter twice in a plain tree, three times when the quick check sends the value to the walk after it (the quick check, the walk, JSON.stringify)", () => {
    const i = start(`let reads = 0;
      export default { on: {
        tree() { return { get a() { reads++; return 1; }, b: [1, { c: 2 }] }; },
        walked() { return { get a() { reads++; return 1; }, b: Object.create(null) }; },
        count() { const n = reads; reads = 0; return n; },
      } };`);
    expect(oneResult(i, ev(1, "tree"))).toBe(`{"ok":true,"value":{"a":1,"b":[1,{"c":2}]}}`);
    expect(oneResult(i, ev(2, "count"))).toBe(`{"ok":true,"value":2}`);
    expect(oneResult(i, ev(3, "walked"))).toBe(`{"ok":true,"value":{"a":1,"b":{}}}`);
    expect(oneResult(i, ev(4, "count"))).toBe(`{"ok":true,"value":3}`);
  });

  it("reads an array by index whatever its prototype: one made with Object.prototype and a huge length is refused at its first hole", () => {
    const i = start(`export default { on: {
        value() { const a = []; a.length = 2 ** 32 - 1; return { a: Object.setPrototypeOf(a, Object.prototype) }; },
      } };`);
    expect(JSON.parse(oneResult(i, ev(1, "value"))).error).toMatchObject({ code: "E_NOT_PLAIN_DATA", message: expect.stringMatching(/field "0" is a undefined/) });
  });

  it("answers E_ASYNC_HANDLER for an array with a then function, as for an object with an enumerable one", () => {
    const i = start(`export default { on: {
        shown() { return Object.assign([1], { then() {} }); },
        hidden() { return Object.defineProperty([1], "then", { value() {} }); },
        plain() { return [1, { a: [2] }]; },
      } };`);
    expect(JSON.parse(oneResult(i, ev(1, "shown"))).error).toMatchObject({ code: "E_ASYNC_HANDLER" });
    expect(JSON.parse(oneResult(i, ev(2, "hidden"))).error).toMatchObject({ code: "E_ASYNC_HANDLER" });
    expect(oneResult(i, ev(3, "plain"))).toBe(`{"ok":true,"value":[1,{"a":[2]}]}`);
  });

  it("sends arrays to the walk once mod code put a non-enumerable toJSON on Array.prototype, and checks what it returns", () => {
    const i = start(`export default { on: {
        value() {
          Object.defineProperty(Array.prototype, "toJSON", { value() { return this.length > 1 ? new Set() : "short"; }, configurable: true });
          return { a: [1], b: { c: [2] } };
        },
        bad() { return { a: [1, 2] }; },
      } };`);
    expect(oneResult(i, ev(1, "value"))).toBe(`{"ok":true,"value":{"a":"short","b":{"c":"short"}}}`);
    expect(JSON.parse(oneResult(i, ev(2, "bad"))).error).toMatchObject({ code: "E_NOT_PLAIN_DATA", message: expect.stringMatching(/Set/) });
  });

  it("checks a state that is a plain tree and one the walk must read alike: init and the checkpoint export", () => {
    const i = start(`export default {
        init() { return { entities: { e1: { hp: 1, tags: ["a"] } }, rounds: 0 }; },
        on: { hit(s) { s.rounds++; return s.rounds; }, spoil(s) { s.entities.e1.seen = new Map(); return 0; } },
      };`);
    expect(oneResult(i, ev(1, "hit"))).toBe(`{"ok":true,"value":1}`);
    const good = i.exportState();
    expect(good.kind === "ok" && JSON.parse(good.value.state)).toEqual({ entities: { e1: { hp: 1, tags: ["a"] } }, rounds: 1 });
    expect(oneResult(i, ev(2, "spoil"))).toBe(`{"ok":true,"value":0}`);
    const spoiled = i.exportState();
    expect(spoiled).toMatchObject({ kind: "failed", error: { code: "E_NOT_PLAIN_DATA", message: expect.stringMatching(/the state: field "seen" is a Map/) } });
  });

  it("writes what a getter answers the second time, as JSON text the host can read (a getter that changes its answer only fools itself)", () => {
    const i = start(`const flip = (first, then) => { let n = 0; return { get v() { return n++ === 0 ? first : then; } }; };
      export default { on: {
        map() { return flip(1, new Map([["k", 1]])); },
        nan() { return flip(1, NaN); },
        fn() { return flip(1, () => 1); },
        cycle() { const o = {}; let n = 0; Object.defineProperty(o, "v", { enumerable: true, get() { return n++ === 0 ? 1 : o; } }); return o; },
        big() { return flip("x", "y".repeat(1000)); },
        gone() { let n = 0; return { toJSON() { return n++ === 0 ? 1 : undefined; } }; },
      } };`);
    expect(oneResult(i, ev(1, "map"))).toBe(`{"ok":true,"value":{"v":{}}}`);
    expect(oneResult(i, ev(2, "nan"))).toBe(`{"ok":true,"value":{"v":null}}`);
    expect(oneResult(i, ev(3, "fn"))).toBe(`{"ok":true,"value":{}}`);
    expect(JSON.parse(oneResult(i, ev(4, "cycle"))).error).toMatchObject({ code: "E_THREW", message: expect.stringMatching(/circular/i) });
    expect(JSON.parse(oneResult(i, ev(5, "big"))).error).toMatchObject({ code: "E_TOO_LARGE" });
    expect(oneResult(i, ev(6, "gone"))).toBe(`{"ok":true,"value":null}`);
  });

  it("skips keys inherited from Object.prototype, as JSON.stringify does, once mod code put an enumerable one there", () => {
    const i = start(`export default { on: {
        install() { Object.prototype.extra = () => 1; return 1; },
        value() { return { a: 1, b: [{ c: "d" }] }; },
        remove() { delete Object.prototype.extra; return { a: 2 }; },
        installOnArrays() { Array.prototype.last = function () { return this[this.length - 1]; }; return 1; },
        arrayProto() { return { o: Object.setPrototypeOf({ a: 1 }, Array.prototype), l: [1, 2] }; },
      } };`);
    expect(oneResult(i, ev(1, "install"))).toBe(`{"ok":true,"value":1}`);
    expect(oneResult(i, ev(2, "value"))).toBe(`{"ok":true,"value":{"a":1,"b":[{"c":"d"}]}}`);
    expect(oneResult(i, ev(3, "remove"))).toBe(`{"ok":true,"value":{"a":2}}`);
    expect(oneResult(i, ev(4, "installOnArrays"))).toBe(`{"ok":true,"value":1}`);
    expect(oneResult(i, ev(5, "arrayProto"))).toBe(`{"ok":true,"value":{"o":{"a":1},"l":[1,2]}}`);
  });

  it("gives mod code no JSON.rawJSON, which would let JSON.stringify write any number text (Infinity, -0) for the host to read", () => {
    const i = start(`export default { on: {
        probe() { return [typeof JSON.rawJSON, typeof JSON.isRawJSON, "rawJSON" in JSON]; },
      } };`);
    expect(oneResult(i, ev(1, "probe"))).toBe(`{"ok":true,"value":["undefined","undefined",false]}`);
  });

  it("uses a toJSON that mod code put on Object.prototype, and checks what it returns", () => {
    const i = start(`export default { on: {
        install() { Object.prototype.toJSON = function () { return Array.isArray(this) ? this : { wrapped: true }; }; return []; },
        value() { return { a: 1 }; },
        map() { Object.prototype.toJSON = () => new Map(); return { a: 1 }; },
        remove() { delete Object.prototype.toJSON; return { a: 1 }; },
      } };`);
    expect(oneResult(i, ev(1, "install"))).toBe(`{"ok":true,"value":[]}`);
    expect(oneResult(i, ev(2, "value"))).toBe(`{"ok":true,"value":{"wrapped":true}}`);
    const map = JSON.parse(oneResult(i, ev(3, "map"))) as { error: { code: string; message: string } };
    expect(map.error).toMatchObject({ code: "E_NOT_PLAIN_DATA", message: "the result of on.map(): the value is a Map; only plain objects, arrays, strings, finite numbers, booleans and null cross the sandbox" });
    expect(oneResult(i, ev(4, "remove"))).toBe(`{"ok":true,"value":{"a":1}}`);
  });

  it("is not fooled by setters mod code put on Array.prototype indices", () => {
    const i = start(`let hits = 0;
      export default { on: {
        trap() { for (let k = 0; k < 3000; k++) Object.defineProperty(Array.prototype, k, { set() { hits++; }, get() { return undefined; }, configurable: true }); return 1; },
        value() { let v = 0; for (let k = 0; k < 20; k++) v = [v, { k }]; return v; },
        cyc() { const a = [[[1, 0]]]; a[0][0][1] = a; return a; },
        hits() { return hits; },
      } };`);
    oneResult(i, ev(1, "trap"));
    expect(oneResult(i, ev(2, "value"))).toMatch(/^\{"ok":true,"value":\[\[\[\[/);
    expect(JSON.parse(oneResult(i, ev(3, "cyc")))).toMatchObject({ ok: false, error: { code: "E_NOT_PLAIN_DATA", message: "the result of on.cyc() is cyclic" } });
    expect(oneResult(i, ev(4, "hits"))).toBe(`{"ok":true,"value":0}`);
  });

  it("is not fooled by setters mod code put on Object.prototype keys, __proto__ included", () => {
    const i = start(`let hits = 0;
      export default { on: {
        trap() {
          for (const k of ["hp", "name", "0", "__proto__", "toJSON"]) Object.defineProperty(Object.prototype, k, { set() { hits++; this.x = () => 1; }, get() { return undefined; }, configurable: true });
          return 1;
        },
        value() { return { hp: 5, name: "a", 0: "zero", list: [{ hp: 1 }], nested: { name: "b" } }; },
        proto() { return JSON.parse('{"__proto__": {"hp": 2}}'); },
        hits() { return hits; },
      } };`);
    oneResult(i, ev(1, "trap"));
    expect(oneResult(i, ev(2, "value"))).toBe(`{"ok":true,"value":{"0":"zero","hp":5,"name":"a","list":[{"hp":1}],"nested":{"name":"b"}}}`);
    expect(oneResult(i, ev(3, "proto"))).toBe(`{"ok":true,"value":{"__proto__":{"hp":2}}}`);
    expect(oneResult(i, ev(4, "hits"))).toBe(`{"ok":true,"value":0}`);
  });

  it("writes odd keys and many distinct keys alike, call after call", () => {
    const i = start(`export default { on: {
        keys(s, p) { const o = {}; for (let k = p.from; k < p.from + 10; k++) o["k" + k] = k; return o; },
        odd() { const o = JSON.parse('{"__proto__": 1}'); o.constructor = 2; o.toString = 3; o['a"b'] = 4; o[""] = 5; return o; },
      } };`);
    let seq = 0;
    for (let round = 0; round < 2; round++) {
      for (let from = 0; from < 600; from += 10) {
        const expected: Record<string, number> = {};
        for (let k = from; k < from + 10; k++) expected[`k${k}`] = k;
        expect(oneResult(i, ev(++seq, "keys", { from }))).toBe(`{"ok":true,"value":${JSON.stringify(expected)}}`);
      }
      expect(oneResult(i, ev(++seq, "odd"))).toBe(`{"ok":true,"value":{"__proto__":1,"constructor":2,"toString":3,"a\\"b":4,"":5}}`);
    }
  });

  it("keeps a walk started by a getter (a capability's arguments) apart from the walk it interrupts", () => {
    const i = ModInstance.create({ ...spec(`let reads = 0;
      export default { on: {
        value(s, p, ctx) { const o = { a: 1 }; o.b = { get c() { reads++; return ctx.host.echo(o); } }; return o; },
        reads() { return reads; },
      } };`), permissions: ["echo"] }, { log: () => undefined, capability: (call) => ({ reply: JSON.stringify({ ok: true, value: call.args }), late: false }) }, [1, 2, 3, 4]);
    instances.push(i);
    expect(i.initState(0).kind).toBe("ok");
    // o is an ancestor of the outer walk, but not of the capability's: its arguments are [o] at the
    // time of the call, which itself reaches the getter again... and so on until the depth limit.
    const out = JSON.parse(oneResult(i, ev(1, "value"))) as { ok: boolean; error?: { code: string; message: string } };
    expect(out.ok).toBe(false);
    expect(out.error?.code).toBe("E_NOT_PLAIN_DATA");
    expect(out.error?.message).toMatch(/nested too deeply/);
    // Each nesting of the walk holds [o], o and o.b: the getter runs about 2000 / 3 levels deep.
    // The quick check reads it once at the top, then the walk: two chains of reads, not one per
    // level (a quick check under each walk made it depth^2 / 2 reads).
    const reads = JSON.parse(oneResult(i, ev(2, "reads"))) as { value: number };
    expect(reads.value).toBeGreaterThan(600);
    expect(reads.value).toBeLessThan(1500);
    // The walk's bookkeeping was restored: the next result is written normally.
    const j = start(`export default { on: { v() { return { a: [1, { b: 2 }] }; } } };`);
    expect(oneResult(j, ev(2, "v"))).toBe(`{"ok":true,"value":{"a":[1,{"b":2}]}}`);
  });
});

describe("seeded random generator", () => {
  /** The sfc32 the prelude had, with its state in an array. */
  function oldSfc32(seed: readonly number[]): { next: () => number; words: () => number[] } {
    let rng = [...seed];
    return {
      next() {
        let a = (rng[0] as number) >>> 0, b = (rng[1] as number) >>> 0, c = (rng[2] as number) >>> 0, d = (rng[3] as number) >>> 0;
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) | 0;
        rng = [a, b, c, d];
        return (t >>> 0) / 4294967296;
      },
      words: () => rng,
    };
  }

  it("draws the same numbers and checkpoints the same words as before, and resumes from them", () => {
    const seed = [0x9e3779b9, 0x243f6a88, 0xb7e15162, 7];
    const i = start(`export default { on: { r(s, p) { const out = []; for (let k = 0; k < p.n; k++) out.push(Math.random()); return out; } } };`, seed);
    const ref = oldSfc32(seed);
    const first = JSON.parse(oneResult(i, ev(1, "r", { n: 15 }))) as { value: number[] };
    expect(first.value).toEqual(Array.from({ length: 15 }, () => ref.next()));
    const snap = i.exportState();
    expect(snap.kind === "ok" && snap.value.rng).toEqual(ref.words());
    const again = start(`export default { on: { r(s, p) { const out = []; for (let k = 0; k < p.n; k++) out.push(Math.random()); return out; } } };`);
    expect(snap.kind === "ok" && again.importState(snap.value).kind).toBe("ok");
    const next = JSON.parse(oneResult(again, ev(2, "r", { n: 5 }))) as { value: number[] };
    expect(next.value).toEqual(Array.from({ length: 5 }, () => ref.next()));
  });

  // V8 skips finally blocks when it terminates a call at its time limit: a walk cut deep inside a
  // result must not leave its ancestors behind for the next call, or every later result of this
  // isolate would be "nested too deeply".
  it("starts every call from an empty walk after a call was stopped deep inside one", () => {
    const i = ModInstance.create({ ...spec(`
      const nest = (depth, leaf) => { let o = leaf; for (let d = 0; d < depth; d++) o = { o }; return o; };
      export default { on: {
        stuck() { return nest(1990, { get spin() { for (;;) {} } }); },
        deep() { return nest(100, 1); },
      } };`), callTimeoutMs: 200, maxBytes: 1_000_000 }, bridge, [1, 2, 3, 4]);
    instances.push(i);
    expect(i.initState(1000).kind).toBe("ok");
    // On a starved machine the cut is judged "lost" (sandbox/cpu-budget.ts); the rerun of the same
    // event runs in backstop mode, where a cut is final: stopped deep inside a walk either way.
    let stuck = i.dispatch([ev(1, "stuck")], false);
    if (stuck.stop === "lost") stuck = i.dispatch([ev(1, "stuck")], false);
    expect(stuck.stop).toBe("timeout");
    const out = i.dispatch([ev(2, "deep")], false);
    expect(out.stop).toBeUndefined();
    expect(out.resultsJson).toMatch(/^\[1,/);
  });
});

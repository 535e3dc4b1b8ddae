/**
 * Escape attempts at run time: what a mod can reach from inside its isolate. The static safety
 * rules are side-stepped on purpose (computed property names, Reflect) so that these tests hit
 * the runtime blocks; static-refusals.test.ts covers the load-time layer (import(), import.meta
 * and imports cannot be written past it at all).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISOLATIONS } from "../support/mod-fixture.js";
import { HOST_TEXT, answer, handlerMod, startRig, value, type Rig } from "./harness.js";

// Every name a host object, Node, isolated-vm or the prelude's private API would show up under.
// ("global" is left out: RegExp.prototype.global is a built-in; the global itself is checked below.)
const FORBIDDEN_NAMES = [
  "process", "require", "module", "exports", "Buffer", "__dirname", "__filename",
  "setTimeout", "setInterval", "setImmediate", "queueMicrotask", "structuredClone",
  "WebAssembly", "SharedArrayBuffer", "Atomics", "FinalizationRegistry", "WeakRef",
  // isolated-vm handles (Reference, ExternalCopy, Callback, Isolate, Context, Script, Module)
  "ivm", "Reference", "ExternalCopy", "Callback", "Isolate", "Context", "Script",
  "applySync", "applySyncPromise", "applyIgnored", "derefInto", "deref", "copySync", "copyInto",
  "getSync", "setSync", "compileScriptSync", "compileModuleSync", "createContextSync", "evaluateSync",
  "instantiateSync", "cpuTime", "wallTime", "referenceCount", "isDisposed",
  // the prelude's API and internals
  "__modhostRegister", "boot", "stage", "activate", "describe", "dispatch", "collect", "initState",
  "migrateState", "migrateInPlace", "exportState", "importState", "sandboxError", "engineErrorCodes",
  "sliceResults", "plainReplacer",
];

// ECMAScript built-ins of V8 plus the sandbox's console: the only globals a mod may see.
const ALLOWED_GLOBALS = new Set([
  "Object", "Function", "Array", "Number", "parseFloat", "parseInt", "Infinity", "NaN", "undefined",
  "Boolean", "String", "Symbol", "Date", "Promise", "RegExp", "Error", "AggregateError", "EvalError",
  "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError", "globalThis", "JSON", "Math",
  "Intl", "ArrayBuffer", "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array",
  "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray", "BigUint64Array", "BigInt64Array",
  "DataView", "Map", "BigInt", "Set", "WeakMap", "WeakSet", "Proxy", "Reflect", "decodeURI",
  "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "unescape", "eval", "isFinite",
  "isNaN", "console",
]);

// Globals that newer V8 versions added, each reviewed before being allowed: a global this list
// does not name fails the test below on the Node that brings it, until it is reviewed here (safe,
// with the reason) or deleted by the prelude. Node 20 has none of these.
const REVIEWED_NEWER_GLOBALS: Record<string, string> = {
  Iterator: "V8 12 (Node 22): iterator helpers; lazy, synchronous wrappers over the mod's own iterators",
  Float16Array: "V8 13 (Node 24): one more typed array over an ArrayBuffer, inside the memory limit",
  DisposableStack: "V8 13 (Node 24): explicit resource management; calls the mod's own disposers synchronously",
  AsyncDisposableStack: "V8 13 (Node 24): the same through promises, which mods have anyway (no timer, no clock)",
  SuppressedError: "V8 13 (Node 24): an Error subclass",
  Temporal: "V8 14 (Node 26): date arithmetic; the prelude deletes Temporal.Now, its only clock and time-zone reader",
};

const PROBE_TOP = `
const K = "constr" + "uctor";
const FP = Object.getPrototypeOf(function () {});
const seenAtLoad = Reflect.has(globalThis, "__modhost" + "Register");
// Walks every object reachable from the roots through own properties (values, getters, setters,
// symbols, non-enumerable ones) and prototypes, without calling any getter.
function walk(roots: any[]): { names: string[]; objects: number; functions: any[] } {
  const seen = new Set<any>();
  const names = new Set<string>();
  const functions: any[] = [];
  const queue: any[] = [...roots];
  while (queue.length > 0 && seen.size < 50000) {
    const o = queue.shift();
    if ((typeof o !== "object" && typeof o !== "function") || o === null || seen.has(o)) continue;
    seen.add(o);
    if (typeof o === "function") functions.push(o);
    queue.push(Object.getPrototypeOf(o));
    for (const key of Reflect.ownKeys(o)) {
      names.add(typeof key === "symbol" ? String(key) : key);
      const d: any = Reflect.getOwnPropertyDescriptor(o, key);
      if (d === undefined) continue;
      if ("value" in d) queue.push(d.value);
      if (d.get) queue.push(d.get);
      if (d.set) queue.push(d.set);
    }
  }
  return { names: [...names], objects: seen.size, functions };
}
function caught(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
const CODE = "globalThis.pwned = (globalThis.pwned || 0) + 1; return 1";
`;

const PROBE_HANDLERS: Record<string, string> = {
  globals: `
    const names = Reflect.ownKeys(globalThis).map(String);
    const protoNames: string[] = [];
    for (let p = Object.getPrototypeOf(globalThis); p !== null; p = Object.getPrototypeOf(p)) {
      if (p !== Object.prototype) protoNames.push(...Reflect.ownKeys(p).map(String));
    }
    const kinds: Record<string, string> = {};
    for (const n of Object.getOwnPropertyNames(globalThis)) kinds[n] = typeof Reflect.get(globalThis, n);
    return { names, protoNames, kinds };`,
  walk: `
    const engineError = caught(() => ctx.host.boom());
    const w = walk([globalThis, ctx, engineError, console, Date, Math]);
    const hits = w.names.filter((n) => p.forbidden.includes(n));
    const fnNames = w.functions.map((f) => { const d: any = Reflect.getOwnPropertyDescriptor(f, "name"); return d && typeof d.value === "string" ? d.value : ""; });
    return { hits, fnHits: fnNames.filter((n) => p.forbidden.includes(n)), objects: w.objects };`,
  nodeGlobals: `
    return ["process", "require", "module", "Buffer", "global", "setTimeout", "queueMicrotask", "WebAssembly", "SharedArrayBuffer", "Atomics", "FinalizationRegistry", "WeakRef"]
      .map((n) => [n, Reflect.has(globalThis, n), typeof Reflect.get(globalThis, n)]);`,
  hostError: `
    const e = caught(() => ctx.host.boom());
    const ctor = Reflect.get(e, K);
    const chain: string[] = [];
    for (let o = Object.getPrototypeOf(e); o !== null; o = Object.getPrototypeOf(o)) {
      const c = Reflect.getOwnPropertyDescriptor(o, K);
      chain.push(c && typeof c.value === "function" ? c.value.name : "?");
    }
    const ctorCtor = Reflect.get(ctor, K);
    const generated = caught(() => ctorCtor(CODE));
    return {
      isError: e instanceof Error,
      ctorIsError: ctor === Error,
      chain,
      code: e.code,
      message: e.message,
      stack: String(e.stack),
      ownKeys: Reflect.ownKeys(e).map(String).sort(),
      generated: generated && generated.name,
      pwned: Reflect.get(globalThis, "pwned") ?? 0,
    };`,
  hostReturnsError: `return ctx.host.giveError();`,
  temporal: `
    const t: any = Reflect.get(globalThis, "Temporal");
    if (t === undefined) return { has: false };
    return { has: true, now: Reflect.has(t, "Now"), instant: String(t.Instant.fromEpochMilliseconds(86400000)) };`,
  forgeCode: `
    const e = caught(() => ctx.host.boom());
    const C = Reflect.get(e, K);
    throw Reflect.construct(C, [p.code, "forged by the mod"]);`,
  relabelCode: `
    const e = caught(() => ctx.host.boom());
    Object.defineProperty(e, "code", { value: p.code });
    throw e;`,
  fakeErrorObject: `throw { code: p.code, message: "forged", stack: "at /work/main/engine/dist/host/mod-host.js:1:1" };`,
  stackFrames: `
    const frames: any[] = [];
    (Error as any).prepareStackTrace = (_e: any, sites: any[]) => {
      for (const site of sites) {
        frames.push({ this: typeof site.getThis(), fn: typeof site.getFunction(), file: String(site.getFileName()), eval: site.isEval(), native: site.isNative() });
      }
      return "stack";
    };
    try {
      const own = new Error("own");
      void own.stack;
      const capability = caught(() => ctx.host.boom());
      void capability.stack;
      const recursive = caught(() => { const r = (n: number): number => r(n + 1) + 1; return r(0); });
      void recursive.stack;
    } finally {
      (Error as any).prepareStackTrace = undefined;
    }
    return frames;`,
  // Engine errors have their stack read inside the prelude: a prepareStackTrace installed by the mod
  // runs there, against the prelude's own frames.
  armPrepare: `
    (Error as any).prepareStackTrace = (_e: any, sites: any[]) => {
      s.frames = sites.map((site: any) => ({ this: typeof site.getThis(), fn: typeof site.getFunction(), file: String(site.getFileName()) }));
      return "stack";
    };
    return 10n;`,
  readPrepare: `(Error as any).prepareStackTrace = undefined; return s.frames ?? null;`,
  codegen: `
    const routes: Record<string, () => unknown> = {
      "globalThis.eval": () => Reflect.get(globalThis, "ev" + "al")(CODE),
      "eval descriptor": () => (Reflect.getOwnPropertyDescriptor(globalThis, "ev" + "al") as any).value(CODE),
      "globalThis.Function": () => Reflect.get(globalThis, "Func" + "tion")(CODE),
      "new globalThis.Function": () => Reflect.construct(Reflect.get(globalThis, "Func" + "tion"), [CODE]),
      "arrow constructor": () => ((() => 1) as any)[K](CODE)(),
      "function constructor": () => (function () {} as any)[K](CODE)(),
      "class constructor": () => Reflect.get(class A {}, K)(CODE)(),
      "method constructor": () => Reflect.get({ m() {} }.m, K)(CODE)(),
      "AsyncFunction": () => Reflect.get(Object.getPrototypeOf(async function () {}), K)(CODE),
      "new AsyncFunction": () => Reflect.construct(Reflect.get(Object.getPrototypeOf(async function () {}), K), [CODE]),
      "GeneratorFunction": () => Reflect.get(Object.getPrototypeOf(function* () {}), K)(CODE).next(),
      "new GeneratorFunction": () => Reflect.construct(Reflect.get(Object.getPrototypeOf(function* () {}), K), [CODE]),
      "AsyncGeneratorFunction": () => Reflect.get(Object.getPrototypeOf(async function* () {}), K)(CODE),
      "new AsyncGeneratorFunction": () => Reflect.construct(Reflect.get(Object.getPrototypeOf(async function* () {}), K), [CODE]),
      "Function.prototype.constructor bound": () => Reflect.get(FP, K).bind(null)(CODE)(),
      "Function.prototype.constructor call": () => Reflect.get(FP, K).call(null, CODE)(),
      "Function.prototype.constructor apply": () => (Reflect.apply(Reflect.get(FP, K), null, [CODE]) as any)(),
      "constructor descriptor": () => (Reflect.getOwnPropertyDescriptor(FP, K) as any).value(CODE)(),
      "bound function constructor": () => Reflect.get((function () {}).bind(null), K)(CODE)(),
      "proxy constructor": () => Reflect.get(new Proxy(function () {}, {}), K)(CODE)(),
      "capability constructor": () => Reflect.get(ctx.host.echo, K)(CODE)(),
      "console constructor": () => Reflect.get(console.log, K)(CODE)(),
      "Date constructor": () => Reflect.get(Date, K)(CODE)(),
      "error constructor chain": () => Reflect.get(Reflect.get(new Error("x"), K), K)(CODE)(),
      "Intl constructor": () => Reflect.get((Intl as any).Collator, K)(CODE)(),
      "Math.random constructor": () => Reflect.get(Math.random, K)(CODE)(),
      "super constructor chain": () => Reflect.get(Reflect.get(Object.getPrototypeOf(class B extends Array {}), K), K)(CODE)(),
    };
    const out: Record<string, string> = {};
    for (const [name, route] of Object.entries(routes)) {
      try {
        route();
        out[name] = "RAN";
      } catch (e: any) {
        out[name] = e && e.name;
      }
    }
    return { out, pwned: Reflect.get(globalThis, "pwned") ?? 0 };`,
  register: `return { seenAtLoad, now: Reflect.has(globalThis, "__modhost" + "Register"), lib: loadedWithRegister };`,
  ctxShape: `
    return {
      keys: Reflect.ownKeys(ctx).map(String).sort(),
      frozen: Object.isFrozen(ctx),
      hostKeys: Reflect.ownKeys(ctx.host).map(String).sort(),
      hostFrozen: Object.isFrozen(ctx.host),
      hostProto: Object.getPrototypeOf(ctx.host) === null,
      modFrozen: Object.isFrozen(ctx.mod),
      mod: ctx.mod,
    };`,
  setGlobals: `
    // A mod may scribble on its own realm; none of it may change what the engine does with it.
    (Object.prototype as any).boot = () => "hijacked";
    (globalThis as any).__modhostRegister = () => undefined;
    return "scribbled";`,
  ping: `return "pong";`,
};

describe.each(ISOLATIONS)("escape attempts at run time (%s isolation)", (isolation) => {
  let rig: Rig;
  let bombs = 0;
  beforeAll(async () => {
    rig = await startRig(
      {
        probe: handlerMod("probe", PROBE_HANDLERS, {
          top: `import { loadedWithRegister } from "./lib.ts";\n${PROBE_TOP}`,
          manifest: { permissions: ["boom", "echo", "giveError"], limits: { callTimeoutMs: 1000 } },
          files: { "lib.ts": `export const loadedWithRegister = Reflect.has(globalThis, "__modhost" + "Register");\n` },
        }),
      },
      {
        isolation,
        capabilities: {
          boom: () => {
            bombs++;
            throw new Error("game failed");
          },
          echo: (...args: unknown[]) => args,
          giveError: () => new Error(`host error at ${process.cwd()}`),
        },
        grants: { probe: ["boom", "echo", "giveError"] },
      },
    );
    expect(rig.host.mods()[0]).toMatchObject({ name: "probe", status: "running" });
  });
  afterAll(() => rig?.close());

  it("sees only ECMAScript built-ins and console on globalThis, non-enumerable ones included", async () => {
    const { names, protoNames, kinds } = (await value(rig.host, "probe", "globals")) as { names: string[]; protoNames: string[]; kinds: Record<string, string> };
    expect(names.filter((n) => !ALLOWED_GLOBALS.has(n) && !(n in REVIEWED_NEWER_GLOBALS) && !n.startsWith("Symbol("))).toEqual([]);
    expect(protoNames.filter((n) => n !== "constructor" && !n.startsWith("Symbol("))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(["Object", "JSON", "console", "eval"]));
    expect(kinds).toMatchObject({ console: "object", eval: "function", Function: "function", Date: "function" });
  });

  it(`keeps Temporal (where this V8 ${process.versions.v8} has it) without Temporal.Now, which reads the real clock`, async () => {
    const out = (await value(rig.host, "probe", "temporal")) as { has: boolean; now?: boolean; instant?: string };
    if (Number(process.versions.v8.split(".")[0]) < 14) expect(out).toEqual({ has: false });
    else expect(out).toEqual({ has: true, now: false, instant: "1970-01-02T00:00:00Z" });
  });

  it("reaches nothing of Node, isolated-vm or the prelude's API from globalThis, ctx or a caught engine error", async () => {
    const out = (await value(rig.host, "probe", "walk", { forbidden: FORBIDDEN_NAMES })) as { hits: string[]; fnHits: string[]; objects: number };
    expect(out.hits).toEqual([]);
    expect(out.fnHits).toEqual([]);
    expect(out.objects).toBeGreaterThan(500); // the walk did cover the built-ins
  });

  it("finds no process, require, Buffer, timers or WebAssembly at run time", async () => {
    const out = (await value(rig.host, "probe", "nodeGlobals")) as [string, boolean, string][];
    expect(out.filter(([, has]) => has)).toEqual([]);
    expect(out.every(([, , type]) => type === "undefined")).toBe(true);
  });

  it("gets a failing capability's error as a plain in-isolate Error with no host path and no way to code generation", async () => {
    const before = bombs;
    const out = (await value(rig.host, "probe", "hostError")) as Record<string, unknown>;
    expect(bombs).toBe(before + 1); // the game's function really ran and threw
    expect(out).toMatchObject({
      isError: true,
      ctorIsError: true,
      chain: ["Error", "Object"],
      code: "E_CAPABILITY_FAILED",
      message: "host.boom() failed: game failed",
      generated: "EvalError",
      pwned: 0,
    });
    expect(out.ownKeys).toEqual(["code", "message", "stack"]);
    for (const pattern of HOST_TEXT) expect(out.stack as string).not.toMatch(pattern);
    expect(out.stack as string).not.toMatch(/ at .*\.js:\d+/); // no host frame of any kind
  });

  it("receives a host Error returned by a capability as plain data without its stack", async () => {
    const got = await value(rig.host, "probe", "hostReturnsError");
    expect(got).toEqual({});
    expect(JSON.stringify(got)).not.toMatch(/\/work\//);
  });

  it.each(["E_TIMEOUT", "E_QUARANTINED", "E_SANDBOX_CRASHED", "E_INTERNAL"])("cannot forge the engine code %s with a caught error's constructor", async (code) => {
    const r = await answer(rig.host, "probe", "forgeCode", { code });
    expect(r).toMatchObject({ ok: false, error: { code: "E_THREW" } });
    expect(r.error?.message).toContain(code); // the mod's text is kept, as a message only
  });

  it("cannot relabel a real engine error it caught", async () => {
    const r = await answer(rig.host, "probe", "relabelCode", { code: "E_QUARANTINED" });
    expect(r).toMatchObject({ ok: false, error: { code: "E_CAPABILITY_FAILED", message: "host.boom() failed: game failed" } });
  });

  it("cannot pass a thrown look-alike object off as an engine error", async () => {
    const r = await answer(rig.host, "probe", "fakeErrorObject", { code: "E_SANDBOX_CRASHED" });
    expect(r).toMatchObject({ ok: false, error: { code: "E_THREW", message: "threw object" } });
    expect(r.error).not.toHaveProperty("stack");
  });

  it("gets no this, no function and no host file from Error.prepareStackTrace call sites", async () => {
    const frames = (await value(rig.host, "probe", "stackFrames")) as { this: string; fn: string; file: string; eval: boolean; native: boolean }[];
    expect(frames.length).toBeGreaterThan(10); // own error + capability error + a deep recursion
    expect(frames.filter((f) => f.this !== "undefined" || f.fn !== "undefined")).toEqual([]);
    expect(frames.filter((f) => f.eval)).toEqual([]);
    const files = [...new Set(frames.map((f) => f.file))];
    expect(files.filter((f) => !["main.ts", "modhost:prelude", "null", "undefined"].includes(f))).toEqual([]);
  });

  it("gets no this or function from the prelude's own frames when an engine error's stack is formatted", async () => {
    expect(await answer(rig.host, "probe", "armPrepare")).toMatchObject({ ok: false, error: { code: "E_NOT_PLAIN_DATA" } });
    const frames = (await value(rig.host, "probe", "readPrepare")) as { this: string; fn: string; file: string }[] | null;
    expect(frames).not.toBeNull(); // the mod's prepareStackTrace did run on the prelude's frames
    expect(frames!.some((f) => f.file === "modhost:prelude")).toBe(true);
    expect(frames!.filter((f) => f.this !== "undefined" || f.fn !== "undefined")).toEqual([]);
  });

  it("throws EvalError on every runtime route to code generation, and no string ever runs", async () => {
    const { out, pwned } = (await value(rig.host, "probe", "codegen")) as { out: Record<string, string>; pwned: number };
    expect(Object.keys(out).length).toBeGreaterThanOrEqual(27);
    expect(Object.entries(out).filter(([, result]) => result !== "EvalError")).toEqual([]);
    expect(pwned).toBe(0);
  });

  it("never sees the registration global, neither in its modules' top-level code nor in handlers", async () => {
    const out = (await value(rig.host, "probe", "register")) as Record<string, unknown>;
    expect(out).toEqual({ seenAtLoad: false, now: false, lib: false });
  });

  it("gets a frozen ctx with only host, mod, now, random and log, and only its granted capabilities", async () => {
    expect(await value(rig.host, "probe", "ctxShape")).toEqual({
      keys: ["host", "log", "mod", "now", "random"],
      frozen: true,
      hostKeys: ["boom", "echo", "giveError"],
      hostFrozen: true,
      hostProto: true,
      modFrozen: true,
      mod: { name: "probe", version: "1.0.0" },
    });
  });

  it("cannot hijack the engine by scribbling prelude names on its own realm", async () => {
    expect(await value(rig.host, "probe", "setGlobals")).toBe("scribbled");
    expect(await value(rig.host, "probe", "ping")).toBe("pong");
    expect(await value(rig.host, "probe", "ctxShape")).toMatchObject({ keys: ["host", "log", "mod", "now", "random"] });
  });
});

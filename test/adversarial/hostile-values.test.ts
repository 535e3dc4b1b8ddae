/**
 * Hostile values crossing the boundary: as a handler's result, as a capability's arguments and
 * as console.log arguments. Each must end in an error result (or a harmless log line), within the
 * time limit, without running anything on the host, and the mod must keep serving afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISOLATIONS } from "../support/mod-fixture.js";
import { answer, handlerMod, startRig, value, type Rig } from "./harness.js";

const MAX_BYTES = 64 * 1024;

/** A hostile value: the expression that builds it, and what each crossing must answer. */
interface Hostile {
  readonly name: string;
  readonly expr: string;
  /** Error code as a result and as capability arguments (same serializer). */
  readonly code: string;
  readonly message?: RegExp;
  /** As a console.log argument: logged (the handler returns), or the error codes the call may end with. */
  readonly log: "logged" | readonly string[];
  /**
   * Takes milliseconds of real work (deep recursion, big strings): on a loaded machine it may run
   * into the (wall-clock) time limit first, and E_TIMEOUT is then as good an answer.
   */
  readonly heavy?: boolean;
  /** Hostile when turned into a string (String(x)): also thrown as an error's message, with these outcomes. */
  readonly thrown?: readonly string[];
  /**
   * As a console.log argument or a thrown error's message it may also crash the sandbox process: flattening the rope is one
   * allocation far past the memory limit, and V8 sometimes treats that as a fatal out-of-memory
   * (seen under load). A crash that repeats quarantines the mod, as designed, so these crossings run
   * in a mod of its own ("rope") and must not take the shared "hostile" mod with it.
   */
  readonly mayCrash?: boolean;
}

const LOOP = "for (;;) {}";
const HOSTILE: Hostile[] = [
  { name: "a getter that loops forever", expr: `({ a: 1, get b(): any { ${LOOP} } })`, code: "E_TIMEOUT", log: ["E_TIMEOUT"] },
  { name: "a getter that throws", expr: `({ get b(): any { throw new Error("getter says no"); } })`, code: "E_THREW", message: /getter says no/, log: "logged" },
  { name: "a Proxy whose get trap loops", thrown: ["E_TIMEOUT"], expr: `new Proxy({ a: 1 }, { get(): any { ${LOOP} } })`, code: "E_TIMEOUT", log: ["E_TIMEOUT"] },
  { name: "a Proxy whose ownKeys trap loops", expr: `new Proxy({}, { ownKeys(): any { ${LOOP} } })`, code: "E_TIMEOUT", log: ["E_TIMEOUT"] },
  { name: "a Proxy whose getPrototypeOf trap loops", expr: `new Proxy({}, { getPrototypeOf(): any { ${LOOP} } })`, code: "E_TIMEOUT", log: "logged" },
  {
    name: "a Proxy that is an endless tree", heavy: true,
    expr: `(() => { const mk = (): any => new Proxy({}, { ownKeys: () => ["a"], getOwnPropertyDescriptor: () => ({ value: 1, enumerable: true, configurable: true }), get: () => mk() }); return mk(); })()`,
    code: "E_NOT_PLAIN_DATA",
    message: /nested too deeply/,
    log: "logged",
  },
  { name: "a revoked Proxy", thrown: ["E_THREW"], expr: `(() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; })()`, code: "E_THREW", log: "logged" },
  { name: "a cyclic object", expr: `(() => { const o: any = { a: 1 }; o.self = { back: o }; return o; })()`, code: "E_NOT_PLAIN_DATA", message: /cyclic/, log: "logged" },
  { name: "a cyclic array", expr: `(() => { const a: any[] = [1]; a.push(a); return a; })()`, code: "E_NOT_PLAIN_DATA", message: /cyclic/, log: "logged" },
  { name: "a string over the size limit", expr: `"x".repeat(${MAX_BYTES + 1})`, code: "E_TOO_LARGE", log: "logged" },
  // Logging it cuts it to maxBytes, which makes V8 flatten the rope: a memory limit hit, no more.
  { name: "a 256 MB rope string", mayCrash: true, thrown: ["E_THREW", "E_TIMEOUT", "E_MEMORY_LIMIT"], heavy: true, expr: `"x".repeat(2 ** 28)`, code: "E_TOO_LARGE", log: ["E_MEMORY_LIMIT", "E_TIMEOUT"] },
  { name: "many references to one 16 MB string", heavy: true, expr: `(() => { const z = "y".repeat(2 ** 24); return Array.from({ length: 64 }, () => z); })()`, code: "E_TOO_LARGE", log: "logged" },
  { name: "300,000 small numbers", heavy: true, expr: `new Array(3e5).fill(7)`, code: "E_TOO_LARGE", log: "logged" },
  { name: "arrays nested 1e5 deep", heavy: true, expr: `(() => { let v: any = 0; for (let i = 0; i < 1e5; i++) v = [v]; return v; })()`, code: "E_NOT_PLAIN_DATA", message: /nested too deeply/, log: "logged" },
  { name: "objects nested 1e5 deep", heavy: true, expr: `(() => { let v: any = {}; for (let i = 0; i < 1e5; i++) v = { v }; return v; })()`, code: "E_NOT_PLAIN_DATA", message: /nested too deeply/, log: "logged" },
  { name: "a toJSON that loops", expr: `({ toJSON(): any { ${LOOP} } })`, code: "E_TIMEOUT", log: ["E_TIMEOUT"] },
  { name: "a toJSON that returns a Map", expr: `({ toJSON: () => new Map([["k", 1]]) })`, code: "E_NOT_PLAIN_DATA", message: /Map/, log: "logged" },
  { name: "a toJSON that returns a function", expr: `({ a: { toJSON: () => () => 1 } })`, code: "E_NOT_PLAIN_DATA", message: /function/, log: "logged" },
  { name: "a toJSON that returns NaN", expr: `({ a: { toJSON: () => NaN } })`, code: "E_NOT_PLAIN_DATA", message: /NaN/, log: "logged" },
  { name: "a toJSON that returns a BigInt", expr: `[{ toJSON: () => 5n }]`, code: "E_NOT_PLAIN_DATA", message: /bigint/, log: "logged" },
  { name: "a valueOf that loops", expr: `({ valueOf(): any { ${LOOP} } })`, code: "E_NOT_PLAIN_DATA", message: /valueOf/, log: "logged" },
  {
    name: "a Symbol.toPrimitive that loops, behind a toJSON that hides it", thrown: ["E_TIMEOUT"],
    expr: `({ toJSON: () => undefined, [Symbol.toPrimitive](): any { ${LOOP} } })`,
    code: "E_NOT_PLAIN_DATA",
    log: ["E_TIMEOUT"],
  },
  { name: "a BigInt", thrown: ["E_THREW"], expr: `10n ** 50n`, code: "E_NOT_PLAIN_DATA", message: /bigint/, log: "logged" },
  { name: "a BigInt in a field", expr: `({ score: 1n })`, code: "E_NOT_PLAIN_DATA", message: /field "score" is a bigint/, log: "logged" },
  { name: "a function", expr: `(() => 1)`, code: "E_NOT_PLAIN_DATA", message: /function/, log: "logged" },
  { name: "a symbol", thrown: ["E_THREW"], expr: `Symbol("s")`, code: "E_NOT_PLAIN_DATA", message: /symbol/, log: "logged" },
  { name: "a Map", expr: `new Map([["a", 1]])`, code: "E_NOT_PLAIN_DATA", message: /Map/, log: "logged" },
  { name: "a Set", expr: `new Set([1])`, code: "E_NOT_PLAIN_DATA", message: /Set/, log: "logged" },
  { name: "a class instance", expr: `new (class Player { hp = 1; })()`, code: "E_NOT_PLAIN_DATA", message: /Player/, log: "logged" },
  { name: "a Date", expr: `new Date(0)`, code: "E_NOT_PLAIN_DATA", message: /Date/, log: "logged" },
  { name: "a typed array", expr: `new Uint8Array(4)`, code: "E_NOT_PLAIN_DATA", message: /Uint8Array/, log: "logged" },
  { name: "an Error", expr: `new Error("e")`, code: "E_NOT_PLAIN_DATA", message: /Error/, log: "logged" },
  { name: "NaN", expr: `NaN`, code: "E_NOT_PLAIN_DATA", message: /NaN/, log: "logged" },
  { name: "Infinity in a field", expr: `({ x: Infinity })`, code: "E_NOT_PLAIN_DATA", message: /Infinity/, log: "logged" },
  { name: "-Infinity in an array", expr: `[1, -Infinity]`, code: "E_NOT_PLAIN_DATA", message: /Infinity/, log: "logged" },
  { name: "undefined in an array", expr: `[1, undefined]`, code: "E_NOT_PLAIN_DATA", message: /undefined/, log: "logged" },
  { name: "a hole in an array", expr: `[1, , 3]`, code: "E_NOT_PLAIN_DATA", message: /undefined/, log: "logged" },
];

/** The log crossings that may crash the sandbox, in the "rope" mod. */
function ropeHandlers(): Record<string, string> {
  const out: Record<string, string> = {};
  HOSTILE.forEach((h, i) => {
    if (!h.mayCrash) return;
    out[`ropeLog${i}`] = `console.log("before", ${h.expr}, "after"); return "logged";`;
    out[`ropeThr${i}`] = `const e = new Error("x"); Object.defineProperty(e, "message", { get: () => ${h.expr} }); throw e;`;
  });
  return out;
}

function handlers(): Record<string, string> {
  const out: Record<string, string> = { ping: `return ++s.n;`, echoOk: `return ctx.host.echo(p);` };
  HOSTILE.forEach((h, i) => {
    out[`ret${i}`] = `return ${h.expr};`;
    out[`arg${i}`] = `ctx.host.echo(${h.expr}); return "called";`;
    if (!h.mayCrash) out[`log${i}`] = `console.log("before", ${h.expr}, "after"); return "logged";`;
    if (!h.mayCrash) out[`thr${i}`] = `const e = new Error("x"); Object.defineProperty(e, "message", { get: () => ${h.expr} }); throw e;`;
  });
  return out;
}

describe.each(ISOLATIONS)("hostile values (%s isolation)", (isolation) => {
  let rig: Rig;
  let echoCalls = 0;
  let pings = 0;
  beforeAll(async () => {
    rig = await startRig(
      {
        hostile: handlerMod("hostile", handlers(), { manifest: { permissions: ["echo"], limits: { callTimeoutMs: 150 } } }),
        rope: handlerMod("rope", ropeHandlers(), { manifest: { limits: { callTimeoutMs: 150 } } }),
      },
      {
        isolation,
        maxBytes: MAX_BYTES,
        // Every timeout below restores the mod from its checkpoint by replaying the journal. Some of
        // these events take a good part of the time limit, and a replay that runs one of them a
        // little slower (two test files in parallel on two cores) times out and faults the mod for
        // good (engine bug, see the report): keep the journal short so that each test stands alone.
        checkpointEvery: 1,
        capabilities: {
          echo: (...args: unknown[]) => {
            echoCalls++;
            return args;
          },
        },
        grants: { hostile: ["echo"] },
      },
    );
    expect(rig.host.mods().map((m) => m.status)).toEqual(["running", "running"]);
  });
  afterAll(() => rig?.close());

  async function stillServes(): Promise<void> {
    expect(await value(rig.host, "hostile", "ping")).toBe(++pings);
  }

  describe.each(HOSTILE.map((h, i) => ({ ...h, i })))("$name", (h) => {
    const codes = h.heavy ? [h.code, "E_TIMEOUT"] : [h.code];

    it("as a handler's result: an error result, and the mod keeps serving", async () => {
      const r = await answer(rig.host, "hostile", `ret${h.i}`);
      expect(r.ok).toBe(false);
      expect(codes).toContain(r.error?.code);
      if (h.message && r.error?.code === h.code) expect(r.error?.message).toMatch(h.message);
      await stillServes();
    });

    it("as a capability's argument: an error result, and the game is never called", async () => {
      const calls = echoCalls;
      const r = await answer(rig.host, "hostile", `arg${h.i}`);
      expect(r.ok).toBe(false);
      expect(codes).toContain(r.error?.code);
      expect(echoCalls).toBe(calls);
      await stillServes();
    });

    // Inline isolation shares the host's process: a V8 fatal out-of-memory while flattening the rope
    // aborts it (the vitest worker, in CI), which is why untrusted mods run in process isolation.
    const crashesHost = h.mayCrash === true && isolation === "inline";

    it.skipIf(crashesHost)("as a console.log argument: a bounded log line or a timeout, and the mod keeps serving", async () => {
      const logged = rig.logs.length;
      const mod = h.mayCrash ? "rope" : "hostile";
      const r = await answer(rig.host, mod, h.mayCrash ? `ropeLog${h.i}` : `log${h.i}`);
      const crashCodes = h.mayCrash && isolation === "process" ? ["E_SANDBOX_CRASHED", "E_QUARANTINED"] : [];
      const errorCodes = [...(h.log === "logged" ? [] : h.log), ...(h.heavy ? ["E_TIMEOUT"] : []), ...crashCodes];
      if (r.ok || !errorCodes.includes(r.error?.code as string)) {
        expect(h.log, `answer: ${JSON.stringify(r)}`).toBe("logged");
        expect(r).toEqual({ mod, version: "1.0.0", ok: true, value: "logged" });
        const lines = rig.logs.slice(logged).filter((l) => l.mod === mod);
        expect(lines).toHaveLength(1);
        expect(lines[0]?.message).toMatch(/^before /);
        expect(lines[0]?.message.length).toBeLessThanOrEqual(MAX_BYTES + 20);
      }
      await stillServes();
    });
  });

  // Values that are hostile when turned into a string, thrown as an Error's message: the prelude
  // describes the error with String(message) inside the timed call.
  describe.each(HOSTILE.map((h, i) => ({ ...h, i })).filter((h) => h.thrown))("$name", (h) => {
    it.skipIf(h.mayCrash === true && isolation === "inline")("as a thrown error's message: an error result, and the mod keeps serving", async () => {
      const r = await answer(rig.host, h.mayCrash ? "rope" : "hostile", h.mayCrash ? `ropeThr${h.i}` : `thr${h.i}`);
      expect(r.ok).toBe(false);
      expect([...(h.thrown ?? []), ...(h.mayCrash && isolation === "process" ? ["E_SANDBOX_CRASHED", "E_QUARANTINED"] : [])]).toContain(r.error?.code);
      expect(r.error?.message.length).toBeLessThanOrEqual(17 * 1024);
      await stillServes();
    });
  });

  it("passes plain data through a capability both ways, so the checks above are not vacuous", async () => {
    const calls = echoCalls;
    const payload = { a: [1, "two", null, true, { b: -0.5 }], s: "x".repeat(1000) };
    expect(await value(rig.host, "hostile", "echoOk", payload)).toEqual([payload]);
    expect(echoCalls).toBe(calls + 1);
  });

  it("was never quarantined or faulted by any of it", () => {
    expect(rig.host.mods().find((m) => m.name === "hostile")?.status).toBe("running");
    expect(rig.faults.filter((f) => f.quarantined && f.mod === "hostile")).toEqual([]);
  });
});

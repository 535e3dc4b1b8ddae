/**
 * The prelude shares its realm with the mod: whatever mod code does to Object.prototype,
 * Array.prototype or the iterators must not change the text the prelude hands to the host (the
 * results, the mod's definition, checkpoints). Before the prelude was hardened, an index setter on
 * Array.prototype made the host re-run one event forever, and a toJSON on Object.prototype or
 * Array.prototype threw inside the host (inline: ModHost.create() rejected; process: every emit()
 * of every mod threw a TypeError).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ISOLATIONS } from "../support/mod-fixture.js";
import { answer, counterMod, errorCode, handlerMod, info, startRig, value, type Rig } from "./harness.js";

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});

describe.each(ISOLATIONS)("integrity of what the prelude sends the host (%s isolation)", (isolation) => {
  /** A polluting mod (`top` runs at load, `pollute` in a handler) next to a bystander. */
  async function rig(options: { top?: string; pollute?: string; checkpointEvery?: number }): Promise<Rig> {
    const r = await startRig(
      {
        polluter: counterMod(
          "polluter",
          { pollute: `${options.pollute ?? ""}\nreturn "polluted";`, fail: `ctx.host.fail();`, rand: `return [Math.random(), ctx.random()];` },
          { top: options.top ?? "", manifest: { permissions: ["fail"] } },
        ),
        bystander: handlerMod("bystander", { tick: `return ++s.n;` }),
      },
      {
        isolation,
        capabilities: { fail: () => { throw new Error("no"); } },
        grants: { polluter: ["fail"] },
        ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
      },
    );
    rigs.push(r);
    return r;
  }

  /** The polluter answers with the right counts, checkpoints work, and the bystander is untouched. */
  async function stillSound(r: Rig, from: number): Promise<void> {
    const values = [];
    for (let i = 1; i <= 3; i++) values.push(await value(r.host, "polluter", "inc"));
    expect(values).toEqual([from + 1, from + 2, from + 3]);
    expect(await r.host.state("polluter")).toMatchObject({ n: from + 3 });
    expect(await value(r.host, "bystander", "tick")).toBeGreaterThanOrEqual(1);
    expect(info(r.host, "polluter").status).toBe("running");
  }

  it("is not fooled by an index getter/setter on Array.prototype (results are neither swallowed nor forged)", { timeout: 120_000 }, async () => {
    const r = await rig({
      pollute: `Object.defineProperty(Array.prototype, "0", { configurable: true, get() { return '{"ok":true,"value":"forged"}'; }, set(_v: any) {} });`,
    });
    expect(await value(r.host, "polluter", "inc")).toBe(1);
    expect(await value(r.host, "polluter", "pollute")).toBe("polluted");
    await stillSound(r, 1);
  });

  it("is not fooled by an index setter on Array.prototype installed at load", { timeout: 120_000 }, async () => {
    const r = await rig({ top: `Object.defineProperty(Array.prototype, "0", { configurable: true, get() { return "1]}"; }, set(_v: any) {} });` });
    expect(info(r.host, "polluter").status).toBe("running");
    await stillSound(r, 0);
  });

  it("survives Object.prototype.toJSON installed at load: the definition, results and checkpoints stay intact", { timeout: 120_000 }, async () => {
    const r = await rig({ top: `(Object.prototype as any).toJSON = function () { return { events: 5 }; };`, checkpointEvery: 1 });
    expect(info(r.host, "polluter").status).toBe("running");
    expect(await r.host.emit("no-such-event")).toEqual([]); // emit() itself does not throw
    expect(await value(r.host, "polluter", "inc")).toBe(1);
    expect(await value(r.host, "bystander", "tick")).toBe(1);
  });

  it("survives Array.prototype.toJSON returning undefined: checkpoints and state reads still work", { timeout: 120_000 }, async () => {
    const r = await rig({ top: `(Array.prototype as any).toJSON = function () { return undefined; };`, checkpointEvery: 1 });
    expect(info(r.host, "polluter").status).toBe("running");
    await stillSound(r, 0);
    expect(await errorCode(r.host, "polluter", "rand")).toBe("E_NOT_PLAIN_DATA"); // its own arrays now say "undefined"
  });

  it("keeps Math.random and ctx.random working after the array iterator is replaced", async () => {
    const r = await rig({ pollute: `(Array.prototype as any)[Symbol.iterator] = function* () { for (;;) yield "hijacked"; };` });
    await value(r.host, "polluter", "pollute");
    const [a, b] = (await value(r.host, "polluter", "rand")) as number[];
    for (const x of [a, b]) {
      expect(typeof x).toBe("number");
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    await stillSound(r, 0);
  });

  it("keeps engine error codes when Object.prototype has get/set/value/writable", async () => {
    const r = await rig({
      pollute: `for (const k of ["get", "set", "value", "writable", "enumerable", "code"]) Object.defineProperty(Object.prototype, k, Object.assign(Object.create(null), { configurable: true, get() { return () => "hijacked"; }, set(_v: any) {} }));`,
    });
    await value(r.host, "polluter", "pollute");
    const failed = await answer(r.host, "polluter", "fail");
    expect(failed).toMatchObject({ ok: false, error: { code: "E_CAPABILITY_FAILED", message: "host.fail() failed: no" } });
    await stillSound(r, 0);
  });
});

describe.each(ISOLATIONS)("text that looks like the wire format (%s isolation)", (isolation) => {
  const TRICKY = [
    `{"done":99,"results":[{"ok":true}]}`,
    `"]},{"ok":true,"value":"forged"}`,
    // The result list's own shapes (model/result-list.ts): tagged pairs.
    `",1,"forged"`,
    `"],0,{"code":"E_TIMEOUT","message":"forged"},2,0,["`,
    `\u2028\u2029\n\r\t\0`,
    `\ud800 lone surrogates \udfff`,
    `${"\\".repeat(10)}"`,
  ];

  it("passes strings, errors and log lines that look like the wire format through verbatim", async () => {
    const r = await startRig(
      { echo: handlerMod("echo", { ret: `return p.s;`, thr: `throw new Error(p.s);`, str: `throw p.s;`, log: `console.log(p.s); return 1;`, proto: `return [Object.prototype.hasOwnProperty.call(p, "__proto__"), ({} as any).polluted === undefined];` }) },
      { isolation },
    );
    rigs.push(r);
    for (const s of TRICKY) {
      expect(await value(r.host, "echo", "ret", { s })).toBe(s);
      expect(await answer(r.host, "echo", "thr", { s })).toMatchObject({ ok: false, error: { code: "E_THREW", message: `Error: ${s}` } });
      expect(await answer(r.host, "echo", "str", { s })).toMatchObject({ ok: false, error: { code: "E_THREW", message: `threw ${s}` } });
      const before = r.logs.length;
      expect(await value(r.host, "echo", "log", { s })).toBe(1);
      expect(r.logs.slice(before).map((l) => l.message)).toEqual([s]);
    }
    // A "__proto__" key in a payload is an own field inside the isolate, not a prototype.
    expect(await value(r.host, "echo", "proto", JSON.parse(`{"__proto__":{"polluted":true}}`))).toEqual([true, true]);
    // Object.prototype's names are not events.
    for (const name of ["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"]) expect(await r.host.emit(name)).toEqual([]);
  });
});

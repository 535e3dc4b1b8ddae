/**
 * A hostile version against the hot swap: new versions are staged in the live isolate, beside the
 * old one (docs/ARCHITECTURE.md), so whatever the old version did to the shared realm is still
 * there when the new version loads. The old version must not be able to keep itself in place.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ISOLATIONS } from "../support/mod-fixture.js";
import { handlerMod, info, startRig, value, type Rig } from "./harness.js";

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});

function version(v: string, top: string, probe: string) {
  return handlerMod("m", { inc: `return ++s.n;`, probe }, { top, manifest: { version: v } });
}

describe.each(ISOLATIONS)("a hostile version against the hot swap (%s isolation)", (isolation) => {
  it("swaps in a plain new version (the path the test below attacks works)", async () => {
    const r = await startRig({ m: version("1.0.0", "", `return "v1";`) }, { isolation });
    rigs.push(r);
    expect(await value(r.host, "m", "inc")).toBe(1);
    await r.mods.write("m", version("1.0.1", "", `return "v2";`));
    expect(await r.host.reload("m")).toMatchObject({ ok: true, kind: "swap", from: "1.0.0", to: "1.0.1" });
    expect(await value(r.host, "m", "probe")).toBe("v2");
    expect(await value(r.host, "m", "inc")).toBe(2);
  });

  // BUG (engine, swap): the registration global is defined on the shared global object when a
  // version is staged. A version that pins `__modhostRegister` as a non-configurable accessor makes
  // every later stage throw ("Cannot redefine property: __modhostRegister"), so every reload is
  // rejected and the hostile version keeps serving until the host is restarted. Staging in a fresh
  // isolate (as DESIGN.md describes), at least when staging in place fails, would close this.
  it("cannot make itself impossible to replace by pinning the registration global", async () => {
    const pin = `Object.defineProperty(globalThis, "__modhost" + "Register", { configurable: false, get() { return () => undefined; }, set(_v: any) {} });`;
    const r = await startRig({ m: version("1.0.0", pin, `return "v1";`) }, { isolation });
    rigs.push(r);
    expect(await value(r.host, "m", "inc")).toBe(1);
    await r.mods.write("m", version("1.0.1", "", `return "v2";`));
    const report = await r.host.reload("m");
    expect(report).toMatchObject({ ok: true, to: "1.0.1" });
    expect(await value(r.host, "m", "probe")).toBe("v2");
    expect(info(r.host, "m").version).toBe("1.0.1");
  });
});

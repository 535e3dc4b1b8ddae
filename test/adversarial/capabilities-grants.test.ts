/**
 * Grants belong to the version whose code makes the call, checked at the call (issue 10, finding
 * 11): a new version without a permission cannot use it during its staging or its migrate()
 * through a function the old version left on globalThis, nor later through that function from its
 * own handlers. Capabilities exist only while a handler runs.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ISOLATIONS } from "../support/mod-fixture.js";
import { answer, startRig, value, type Rig } from "./harness.js";

/** Version 1: granted "secret"; its first event leaves a way to call it on globalThis. */
const V1 = `
export default {
  init: (): any => ({ n: 0 }),
  on: {
    plant(s: any, p: any, ctx: any): any {
      (globalThis as any).steal = (why: string) => ctx.host.secret(why);
      return ctx.host.secret("v1 event");
    },
  },
};
`;

/** Version 2: no "secret" in its manifest; tries the leftover function everywhere it runs code. */
const V2 = `
const tried: string[] = [];
function attempt(why: string): void {
  try {
    (globalThis as any).steal(why);
    tried.push(why + ": called");
  } catch (e: any) {
    tried.push(why + ": " + e.code);
  }
}
attempt("v2 top-level");
export default {
  init: (): any => ({ m: 0 }),
  migrate(old: any): any {
    attempt("v2 migrate");
    return { m: old.n ?? 0, tried: tried.slice() };
  },
  on: {
    use(s: any): any {
      attempt("v2 event");
      return { tried: tried.slice(), state: s };
    },
  },
};
`;

const manifest = (version: string, permissions: string[]) => ({ name: "thief", version, entry: "main.ts", permissions, limits: { callTimeoutMs: 1000 } });

describe.each(ISOLATIONS)("grants are checked for the version making the call (%s isolation)", (isolation) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("refuses a leftover capability to a new version's staging, migrate() and handlers, which lack the permission", async () => {
    const calls: string[] = [];
    rig = await startRig(
      { thief: { "mod.json": manifest("1.0.0", ["secret"]), "main.ts": V1 } },
      { isolation, typecheck: "off", capabilities: { secret: (why: unknown) => void calls.push(String(why)) }, grants: { thief: ["secret"] } },
    );
    expect(await answer(rig.host, "thief", "plant")).toMatchObject({ ok: true });
    expect(calls).toEqual(["v1 event"]);

    await rig.mods.write("thief", { "mod.json": manifest("2.0.0", []), "main.ts": V2 });
    const report = await rig.host.reload("thief");
    expect(report).toMatchObject({ ok: true, to: "2.0.0" });
    const state = (await rig.host.state("thief")) as { tried: string[] };
    expect(state.tried).toEqual(["v2 top-level: E_CAPABILITY_UNAVAILABLE", "v2 migrate: E_CAPABILITY_UNAVAILABLE"]);

    const used = (await value(rig.host, "thief", "use")) as { tried: string[] };
    expect(used.tried.at(-1)).toBe("v2 event: E_PERMISSION_NOT_GRANTED");
    expect(calls).toEqual(["v1 event"]); // the game's function never ran for version 2
  });
});

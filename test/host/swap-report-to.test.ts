import { afterEach, describe, expect, it } from "vitest";
import { ModHost } from "modhost";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  mods = undefined;
});

const V1 = `export default { init: () => ({ n: 0 }), on: { inc(s: { n: number }) { return ++s.n; } } };`;

async function start(): Promise<ModHost> {
  mods = await makeModsDir({ m: simpleMod("m", V1) });
  host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", capabilities: { say: () => "said" }, grants: { m: ["say"] } });
  return host;
}

describe("a refused swap report names the attempted version as `to`", () => {
  it("refused by the type-check (before staging)", async () => {
    const h = await start();
    await mods!.write("m", simpleMod("m", V1.replace("return ++s.n;", "const t: string = s.n; return t;"), { version: "1.1.0" }));
    expect(await h.reload("m")).toMatchObject({ ok: false, kind: "rejected", from: "1.0.0", to: "1.1.0", error: { code: "E_TYPE" } });
    expect(h.mods()[0]?.version).toBe("1.0.0");
  });

  it("refused while staging (top-level code throws)", async () => {
    const h = await start();
    await mods!.write("m", simpleMod("m", `throw new Error("no");\n${V1}`, { version: "1.2.0" }));
    const report = await h.reload("m");
    expect(report).toMatchObject({ ok: false, kind: "rejected", from: "1.0.0", to: "1.2.0" });
    expect(h.mods()[0]?.version).toBe("1.0.0");
  });

  it("held for approval", async () => {
    const h = await start();
    await mods!.write("m", simpleMod("m", V1, { version: "2.0.0", permissions: ["say"] }));
    expect(await h.reload("m")).toMatchObject({ ok: false, from: "1.0.0", to: "2.0.0", error: { code: "E_APPROVAL_REQUIRED" } });
    expect(await h.approve("m")).toMatchObject({ ok: true, from: "1.0.0", to: "2.0.0" });
  });

  it("a broken mod.json still reports the live version (no other can be read)", async () => {
    const h = await start();
    await mods!.write("m", { "mod.json": "{ not json" });
    expect(await h.reload("m")).toMatchObject({ ok: false, from: "1.0.0", to: "1.0.0" });
  });
});

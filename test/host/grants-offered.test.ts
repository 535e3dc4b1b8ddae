import { afterEach, describe, expect, it } from "vitest";
import { ModHost, ModhostError } from "modhost";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  mods = undefined;
});

const NOTIFY_MAIN = `export default { on: { ping(_s, _e, ctx) { ctx.host.notify("hi"); return "sent"; } } };`;

describe("grants are checked against the offered capabilities at create()", () => {
  it("a misspelled grant is an options error naming grants.<mod>[i] and the offered names", async () => {
    mods = await makeModsDir({ shop: simpleMod("shop", NOTIFY_MAIN, { permissions: ["notify"] }) });
    const err = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", capabilities: { notify: () => undefined, roll: () => 4 }, grants: { shop: ["roll", "notfy"] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModhostError);
    expect(err).toMatchObject({ code: "E_OPTIONS_INVALID", location: { field: "grants.shop[1]" } });
    expect((err as Error).message).toContain('"notfy"');
    expect((err as Error).message).toContain("offered: notify, roll");
    expect((err as Error).message).toContain('did you mean "notify"?');
  });

  it("a grant when the game offers no capabilities says none are offered", async () => {
    mods = await makeModsDir({ shop: simpleMod("shop", NOTIFY_MAIN, { permissions: ["notify"] }) });
    const err = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", grants: { shop: ["notify"] } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_OPTIONS_INVALID", location: { field: "grants.shop[0]" }, message: expect.stringContaining("offered: none") });
  });

  it("a correct grant still loads the mod and its capability works", async () => {
    mods = await makeModsDir({ shop: simpleMod("shop", NOTIFY_MAIN, { permissions: ["notify"] }) });
    const said: unknown[] = [];
    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", capabilities: { notify: (m: unknown) => void said.push(m) }, grants: { shop: ["notify"] } });
    expect(host.mods()[0]?.status).toBe("running");
    expect(await host.emit("ping")).toMatchObject([{ ok: true, value: "sent" }]);
    expect(said).toEqual(["hi"]);
  });
});

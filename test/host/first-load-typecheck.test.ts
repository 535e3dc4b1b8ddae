/**
 * The first load of a mod is type-checked like a reload: at create(), at load() of a new folder,
 * and when a faulted folder is tried again. A version that comes back from the stateDir (it was
 * live before the restart) is resumed, never refused.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ModHost } from "modhost";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
let scratch: string | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  host = undefined;
  mods = undefined;
  scratch = undefined;
});

const GOOD = `export default {
  init: () => ({ n: 0 }),
  on: { inc(s: { n: number }) { return ++s.n; } },
};
`;
// Line 3 reads a property a number does not have: E_TYPE at main.ts:3.
const BAD = GOOD.replace("return ++s.n;", "return s.n.nope;");

/** A mod typed against the game's declarations (the payload's type comes from ModEvents). */
const TYPED = `import { defineMod } from "@modhost/sdk";
export default defineMod<{ last: string }>({
  init: () => ({ last: "" }),
  on: { hit(s, e) { s.last = e.player; return e.player.length; } },
});
`;
const GAME_TYPES = `export {};
declare module "@modhost/sdk" { interface ModEvents { hit: { player: string } } }
`;

describe("the first load is type-checked like a reload", () => {
  it("create(): a mod the check rejects is listed as faulted with E_TYPE at its .ts line, the others run; a fixed save loads", async () => {
    mods = await makeModsDir({ bad: simpleMod("bad", BAD), good: simpleMod("good", GOOD) });
    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline" });
    const [bad, good] = host.mods();
    expect(bad).toMatchObject({ name: "bad", version: "1.0.0", status: "faulted", error: { code: "E_TYPE", mod: "bad", file: "main.ts", line: 3 } });
    expect(bad?.error?.message).toContain("nope");
    expect(good).toMatchObject({ name: "good", status: "running" });
    // It never ran: nothing answers for it.
    expect((await host.emit("inc")).map((r) => r.mod)).toEqual(["good"]);
    await mods.write("bad", simpleMod("bad", GOOD, { version: "1.0.1" }));
    const report = await host.reload("bad");
    expect(report).toMatchObject({ ok: true, mod: "bad", to: "1.0.1" });
    expect((await host.emit("inc")).map((r) => r.mod).sort()).toEqual(["bad", "good"]);
  }, 120_000); // hosts on a loaded machine: a cold type-check each

  it("load() of a new folder refuses it with the same E_TYPE diagnostics; typecheck 'off' opts out", async () => {
    mods = await makeModsDir({});
    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline" });
    await mods.write("bad", simpleMod("bad", BAD));
    const report = await host.load(join(mods.dir, "bad"));
    expect(report).toMatchObject({ ok: false, mod: "bad", to: "1.0.0", error: { code: "E_TYPE", file: "main.ts", line: 3 } });
    expect(host.mods()).toMatchObject([{ name: "bad", status: "faulted", error: { code: "E_TYPE" } }]);
    expect(await host.emit("inc")).toEqual([]);
    await host.close();

    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off" });
    expect(host.mods()).toMatchObject([{ name: "bad", status: "running" }]);
  }, 120_000); // hosts on a loaded machine: a cold type-check each

  it("a version live before a restart comes back from the stateDir even if it no longer type-checks; a new mod still does not load", async () => {
    scratch = await mkdtemp(join(tmpdir(), "modhost-first-load-"));
    const types = join(scratch, "game.d.ts");
    await writeFile(types, GAME_TYPES);
    const stateDir = join(scratch, "state");
    mods = await makeModsDir({ typed: simpleMod("typed", TYPED) });
    host = await ModHost.create({ modsDir: mods.dir, stateDir, isolation: "inline", modTypes: [types] });
    expect(host.mods()).toMatchObject([{ name: "typed", status: "running" }]);
    expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: 3 }]);
    await host.close();

    // Restarted without the game's types: the same sources now fail the check (e is unknown),
    // but the version was live: it resumes with its state. A new mod with the same code is refused.
    await mods.write("fresh", simpleMod("fresh", TYPED));
    host = await ModHost.create({ modsDir: mods.dir, stateDir, isolation: "inline" });
    const listed = host.mods();
    expect(listed.find((m) => m.name === "typed")).toMatchObject({ status: "running" });
    expect(listed.find((m) => m.name === "fresh")).toMatchObject({ status: "faulted", error: { code: "E_TYPE", file: "main.ts", line: 4 } });
    expect(await host.state("typed")).toEqual({ last: "ann" });
  }, 120_000); // hosts on a loaded machine: a cold type-check each
});

/**
 * The first load of a mod is type-checked like a reload: at create(), at load() of a new folder,
 * and when a faulted folder is tried again. A version that comes back from the stateDir (it was
 * live before the restart) is resumed, never refused.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModHost, type ModHostOptions } from "modhost";
import { makeModsDir, simpleMod } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

const scratch = persistScratch();

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

/** A host over `modsDir`, closed after the test. */
async function open(options: Omit<ModHostOptions, "isolation">): Promise<ModHost> {
  const host = await ModHost.create({ ...options, isolation: "inline" });
  scratch.hosts.push(host);
  return host;
}

describe("the first load is type-checked like a reload", () => {
  it("create(): a mod the check rejects is listed as faulted with E_TYPE at its .ts line, the others run; a fixed save loads", async () => {
    const mods = (scratch.mods = await makeModsDir({ bad: simpleMod("bad", BAD), good: simpleMod("good", GOOD) }));
    const host = await open({ modsDir: mods.dir });
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
    const mods = (scratch.mods = await makeModsDir({}));
    let host = await open({ modsDir: mods.dir });
    await mods.write("bad", simpleMod("bad", BAD));
    const report = await host.load(join(mods.dir, "bad"));
    expect(report).toMatchObject({ ok: false, mod: "bad", to: "1.0.0", error: { code: "E_TYPE", file: "main.ts", line: 3 } });
    expect(host.mods()).toMatchObject([{ name: "bad", status: "faulted", error: { code: "E_TYPE" } }]);
    expect(await host.emit("inc")).toEqual([]);
    await host.close();

    host = await open({ modsDir: mods.dir, typecheck: "off" });
    expect(host.mods()).toMatchObject([{ name: "bad", status: "running" }]);
  }, 120_000); // hosts on a loaded machine: a cold type-check each

  it("a version live before a restart comes back from the stateDir even if it no longer type-checks; a new mod still does not load", async () => {
    const work = (scratch.stateDir = await mkdtemp(join(tmpdir(), "modhost-first-load-")));
    const types = join(work, "game.d.ts");
    await writeFile(types, GAME_TYPES);
    const stateDir = join(work, "state");
    const mods = (scratch.mods = await makeModsDir({ typed: simpleMod("typed", TYPED) }));
    let host = await open({ modsDir: mods.dir, stateDir, modTypes: [types] });
    expect(host.mods()).toMatchObject([{ name: "typed", status: "running" }]);
    expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: 3 }]);
    await host.close();

    // Restarted without the game's types: the same sources now fail the check (e is unknown),
    // but the version was live: it resumes with its state. A new mod with the same code is refused.
    await mods.write("fresh", simpleMod("fresh", TYPED));
    host = await open({ modsDir: mods.dir, stateDir });
    const listed = host.mods();
    expect(listed.find((m) => m.name === "typed")).toMatchObject({ status: "running" });
    expect(listed.find((m) => m.name === "fresh")).toMatchObject({ status: "faulted", error: { code: "E_TYPE", file: "main.ts", line: 4 } });
    expect(await host.state("typed")).toEqual({ last: "ann" });
  }, 120_000); // hosts on a loaded machine: a cold type-check each
});

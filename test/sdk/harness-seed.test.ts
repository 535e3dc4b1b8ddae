import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ModHost } from "modhost";
import { loadMod, type LoadedMod } from "@modhost/sdk/testing";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

const ROLLER = `export default { on: { roll() { return [Math.random(), Math.random(), Math.random()]; } } };`;

let mods: ModsDir | undefined;
const loaded: LoadedMod[] = [];
let host: ModHost | undefined;
afterEach(async () => {
  for (const m of loaded.splice(0)) await m.close();
  await host?.close();
  host = undefined;
  await mods?.cleanup();
  mods = undefined;
});

async function rolls(seed: number | undefined): Promise<unknown> {
  const mod = await loadMod(join(mods!.dir, "dice"), { isolation: "inline", ...(seed !== undefined ? { seed } : {}) });
  loaded.push(mod);
  return mod.value("roll", {});
}

describe("randomSeed: reproducible Math.random", () => {
  it("loadMod({ seed }) gives the same numbers for the same seed, others for another", async () => {
    mods = await makeModsDir({ dice: simpleMod("dice", ROLLER) });
    const a = await rolls(42);
    expect(await rolls(42)).toEqual(a);
    expect(await rolls(43)).not.toEqual(a);
    expect(await rolls(undefined)).not.toEqual(a);
  });

  it("the host option seeds each mod differently (by name) and reproducibly", async () => {
    mods = await makeModsDir({ a: simpleMod("a", ROLLER), b: simpleMod("b", ROLLER) });
    const run = async (): Promise<unknown[]> => {
      host = await ModHost.create({ modsDir: mods!.dir, isolation: "inline", randomSeed: 7 });
      const out = (await host.emit("roll")).map((r) => r.value);
      await host.close();
      host = undefined;
      return out;
    };
    const first = await run();
    expect(first[0]).not.toEqual(first[1]);
    expect(await run()).toEqual(first);
  });

  it("a randomSeed that is not an integer is an options error", async () => {
    await expect(ModHost.create({ modsDir: "/tmp", randomSeed: 1.5 })).rejects.toMatchObject({ code: "E_OPTIONS_INVALID", location: { field: "randomSeed" } });
  });
});

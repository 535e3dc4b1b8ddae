import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";
import { runCli } from "../support/cli-runner.js";

// A game's declarations, and a mod written against them: without them it has a type error per
// handler (payloads are `unknown`, the capability is not offered, the game's type is not exported).
const GAME_DTS = `export {};
declare module "@modhost/sdk" {
  export interface Item { readonly name: string; readonly value: number }
  interface ModEvents { pickup: { player: string; item: Item }; drop: { player: string }; tick: { n: number } }
  interface ModResults { pickup: number }
  interface ModCapabilities { notify(player: string, text: string): void }
}
`;
const SHOP_MAIN = `import { defineMod, type Item } from "@modhost/sdk";
type State = { gold: Record<string, number> };
export default defineMod<State, "notify">({
  init: () => ({ gold: {} }),
  on: {
    pickup(state, e, ctx) {
      const item: Item = e.item;
      state.gold[e.player] = (state.gold[e.player] ?? 0) + item.value;
      ctx.host.notify(e.player, item.name);
      return state.gold[e.player] ?? 0;
    },
    drop(state, e) {
      delete state.gold[e.player];
    },
    tick(_state, e) {
      return e.n;
    },
  },
});
`;

/** `modhost check ...args`, with room for a loaded machine (each run type-checks in a worker). */
const check = (...args: string[]) => runCli(["check", ...args], { timeoutMs: 120_000 });

let mods: ModsDir | undefined;
afterEach(async () => {
  await mods?.cleanup();
  mods = undefined;
});

async function shop(extra: Record<string, string | object> = {}): Promise<string> {
  mods = await makeModsDir({ shop: { ...simpleMod("shop", SHOP_MAIN, { permissions: ["notify"] }), ...extra } });
  await writeFile(join(mods.dir, "game.d.ts"), GAME_DTS);
  return join(mods.dir, "shop");
}

describe("modhost check: the game's types from the mod's tsconfig.json", () => {
  it("without the game's types: one diagnostic that says how to give them, not one per handler", async () => {
    const dir = await shop();
    const text = await check(dir);
    expect(text.code).toBe(1);
    expect(text.stdout.match(/E_TYPE/g)).toHaveLength(1);
    expect(text.stdout).toContain("the game's types look missing");
    expect(text.stdout).toContain("pass --types <game.d.ts>, or add the game's .d.ts to the mod's tsconfig.json");
    expect(text.stdout).toContain("✗ shop 1.0.0: 1 error\n");

    const json = await check(dir, "--json");
    expect(JSON.parse(json.stdout).diagnostics).toHaveLength(1);

    // --types still works on its own.
    const typed = await check(dir, "--types", join(mods!.dir, "game.d.ts"));
    expect(typed.code, typed.stdout).toBe(0);
  }, 180_000);

  it('reads "modhost": { "types" }, "files" and compilerOptions.types paths, in the mod folder or above it', async () => {
    const tsconfigs: Record<string, object> = {
      modhost: { compilerOptions: { strict: true }, modhost: { types: ["../game.d.ts"] } },
      files: { compilerOptions: { strict: true }, files: ["main.ts", "../game.d.ts"] },
      types: { compilerOptions: { strict: true, types: ["../game.d.ts"] } },
    };
    for (const [how, tsconfig] of Object.entries(tsconfigs)) {
      const dir = await shop({ "tsconfig.json": tsconfig });
      const result = await check(dir);
      expect(result.code, `${how}: ${result.stdout}${result.stderr}`).toBe(0);
      expect(result.stderr).toContain("game types from");
      await mods?.cleanup();
    }

    // A folder of mods sharing one tsconfig (with comments, as tsc allows) that includes the game's types.
    const dir = await shop();
    await writeFile(join(mods!.dir, "tsconfig.json"), `{\n  // the mods and the game's declarations\n  "compilerOptions": { "strict": true },\n  "include": ["*/**/*.ts", "game.d.ts"]\n}\n`);
    const shared = await check(dir);
    expect(shared.code, shared.stdout + shared.stderr).toBe(0);
  }, 300_000);

  it("warns about a types file the tsconfig names that does not exist", async () => {
    const dir = await shop({ "tsconfig.json": { modhost: { types: ["../gone.d.ts"] } } });
    const result = await check(dir, "--json");
    const diagnostics = JSON.parse(result.stdout).diagnostics as { code: string; severity: string; message: string }[];
    expect(diagnostics).toContainEqual(expect.objectContaining({ code: "E_TYPE", severity: "warning", message: expect.stringContaining("gone.d.ts, which does not exist") }));
  }, 120_000);
});

describe("modhost: a fix line and a docs link under errors; JSON columns as in the text", () => {
  it("check prints the fix once per code, with its docs anchor", async () => {
    const main = `import { defineMod } from "@modhost/sdk";\nexport default defineMod({\n  on: {\n    a() { return eval("1"); },\n    b() { return eval("2"); },\n  },\n});\n`;
    mods = await makeModsDir({ bad: simpleMod("bad", main) });
    const result = await check(join(mods.dir, "bad"));
    expect(result.code).toBe(1);
    expect(result.stdout.match(/E_UNSAFE_CODE/g)).toHaveLength(2);
    const fixes = result.stdout.split("\n").filter((l) => l.trim().startsWith("fix:"));
    expect(fixes).toEqual(["  fix: Remove the construct named (eval, new Function, import(), with...): the sandbox refuses it; plain functions and data do the same job. (docs/errors.md#e_unsafe_code)"]);
  }, 120_000);

  it("an error of any command gets its fix line (here: no server to talk to)", async () => {
    const result = await runCli(["status", "--server", "ws://127.0.0.1:9"], { env: { MODHOST_TOKEN: "x" } });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("E_ADMIN_UNAVAILABLE");
    expect(result.stderr).toMatch(/\n {2}fix: .*modhost serve.* \(docs\/errors\.md#e_admin_unavailable\)/);
  }, 120_000);

  it("--json gives the same 1-based line:column as the text's file:line:col", async () => {
    const main = `import { defineMod } from "@modhost/sdk";\nexport default defineMod({\n  on: {\n    run() {\n      return eval("1 + 1");\n    },\n  },\n});\n`;
    mods = await makeModsDir({ bad: simpleMod("bad", main) });
    const dir = join(mods.dir, "bad");
    const text = await check(dir);
    const where = /main\.ts:(\d+):(\d+) E_UNSAFE_CODE/.exec(text.stdout);
    expect(where?.slice(1)).toEqual(["5", "14"]);
    const json = await check(dir, "--json");
    expect(JSON.parse(json.stdout).diagnostics[0]).toMatchObject({ line: 5, column: 14 });
  }, 120_000);
});

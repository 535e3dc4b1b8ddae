/**
 * The arena's mods, their tests and the good patches compile against the SDK and the game's
 * declarations with the mods' own tsconfigs (what an editor shows a mod author), the rest of the
 * sample and its tests compile too (vitest does not type-check), and the broken patch fails
 * exactly where the engine refuses it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARENA_PATHS } from "../../samples/arena/src/arena-paths.js";
import { typeCheckFiles, typeCheckProject as checkProject } from "../sdk/type-check-files.js";

describe("arena mods type-check", () => {
  it("the mods and the good patches compile in the sandbox's environment (mods/tsconfig.json)", () => {
    const { files, diagnostics } = checkProject(join(ARENA_PATHS.mods, "tsconfig.json"));
    expect(diagnostics).toEqual([]);
    for (const mod of ["combat/main.ts", "loot/main.ts", "chat-filter/main.ts", "combat-2.0.0-streaks/main.ts"]) {
      expect(files.some((f) => f.endsWith(mod))).toBe(true);
    }
    expect(files.some((f) => f.includes("/test/"))).toBe(false);
  });

  it("the mods' tests compile with the typed harness (mods/tsconfig.test.json)", () => {
    const { files, diagnostics } = checkProject(join(ARENA_PATHS.mods, "tsconfig.test.json"));
    expect(diagnostics).toEqual([]);
    expect(files.filter((f) => f.endsWith(".test.ts"))).toHaveLength(3);
  });

  it("the server, the bot, the sample's unit tests and test/samples compile (samples/arena/tsconfig.test.json)", () => {
    const { files, diagnostics } = checkProject(join(ARENA_PATHS.mods, "..", "tsconfig.test.json"));
    expect(diagnostics).toEqual([]);
    expect(files.some((f) => f.endsWith("test/samples/arena-server.test.ts"))).toBe(true);
  });

  it("the broken patch fails where the engine refuses it: main.ts:32, 'e.weapon' is possibly 'null'", async () => {
    const patch = join(ARENA_PATHS.patches, "combat-2.0.1-broken");
    const found = typeCheckFiles(
      {
        "arena.d.ts": await readFile(ARENA_PATHS.modTypes, "utf8"),
        "main.ts": await readFile(join(patch, "main.ts"), "utf8"),
        "rules.ts": await readFile(join(patch, "rules.ts"), "utf8"),
      },
      "sandbox",
    );
    expect(found).toEqual([{ file: "main.ts", line: 32, code: 18047, message: "'e.weapon' is possibly 'null'." }]);
  });
});

import { describe, expect, it } from "vitest";
import type { ModManifest } from "../manifest/mod-manifest.js";
import { fileDeclarationsStats } from "./file-declarations.js";
import { diffVersions, type SemanticDiff, type VersionSource } from "./semantic-diff.js";
import { STATE_SHAPE_UNKNOWN } from "./state-shape.js";

type ManifestFields = { -readonly [K in keyof ModManifest]?: ModManifest[K] };

function version(files: Record<string, string>, manifest: ManifestFields = {}): VersionSource {
  return {
    manifest: { name: "counter", version: "1.0.0", entry: "main.ts", permissions: [], limits: {}, ...manifest } as ModManifest,
    files: new Map(Object.entries(files)),
  };
}

/** Diffs two one-file mods. */
function diffMain(before: string, after: string): Promise<SemanticDiff> {
  return diffVersions(version({ "main.ts": before }), version({ "main.ts": after }));
}

const MAIN = `import { defineMod } from "@modhost/sdk";
import { bonus, dmg } from "./lib/util.js";
import type { Player } from "./lib/types.js";

type State = { hits: Record<string, number>; best?: Player };
type Unrelated = { note: string };

function clamp(n: number): number {
  return Math.max(0, Math.min(100, n));
}

export default defineMod<State>({
  init: () => ({ hits: {} }),
  on: {
    hit(state, e: { player: string; damage: number }) {
      state.hits[e.player] = (state.hits[e.player] ?? 0) + clamp(dmg(e.damage) + bonus);
      return state.hits[e.player];
    },
    reset: (state) => {
      state.hits = {};
    },
  },
});
`;

// The same mod, reformatted: other quotes, comments, import and specifier order, no semicolons,
// trailing commas gone, redundant parentheses, handlers and properties reordered.
const MAIN_REFORMATTED = `// A counter.
import type { Player } from './lib/types.js'
import { dmg, bonus } from './lib/util.js'
import { defineMod } from '@modhost/sdk'

/** The state. */
type State = {
  hits: Record<string, number>,
  best?: Player,
}
type Unrelated = { note: string }

function clamp(n: number): number { return (Math.max(0, (Math.min(100, n)))) }

export default defineMod<State>({
  on: {
    reset: (state) => { state.hits = {} },
    hit(state, e: { player: string, damage: number }) {
      // count it
      state.hits[e.player] = ((state.hits[e.player] ?? 0) + clamp(dmg(e.damage) + bonus))
      return state.hits[e.player]
    },
  },
  init: () => ({ hits: {}, }),
})
`;

const UTIL = `export const bonus = 1;
export function dmg(n: number): number {
  return n * 2;
}
`;

const TYPES = `export interface Player { name: string; level: number }
export type Unused = string;
`;

const FILES = { "main.ts": MAIN, "lib/util.ts": UTIL, "lib/types.ts": TYPES };

describe("diffVersions", () => {
  it("finds nothing between identical versions", async () => {
    const diff = await diffVersions(version(FILES), version(FILES));
    expect(diff).toEqual({
      noop: true,
      changes: [],
      stateShapeChanged: false,
      stateShapeReasons: [],
      permissionsAdded: [],
      limitsRaised: [],
      newHasMigrate: false,
    });
  });

  it("treats reformatting, comments, quote style and import order as a noop", async () => {
    const diff = await diffVersions(version(FILES), version({ ...FILES, "main.ts": MAIN_REFORMATTED }));
    expect(diff.changes).toEqual([]);
    expect(diff.noop).toBe(true);
    expect(diff.stateShapeChanged).toBe(false);
  });

  it("reports a changed handler body as a modified on.<event>, without a shape change", async () => {
    const diff = await diffMain(MAIN, MAIN.replace("return state.hits[e.player];", "return state.hits[e.player] * 2;"));
    expect(diff.changes).toEqual([{ kind: "modified", path: "on.hit" }]);
    expect(diff.noop).toBe(false);
    expect(diff.stateShapeChanged).toBe(false);
  });

  it("reports a new handler as an added on.<event>", async () => {
    const diff = await diffMain(MAIN, MAIN.replace("    reset: (state) => {", "    heal(state) {\n      return 0;\n    },\n    reset: (state) => {"));
    expect(diff.changes).toEqual([{ kind: "added", path: "on.heal" }]);
    expect(diff.stateShapeChanged).toBe(false);
  });

  it("reports a removed function and the handler that stopped calling it", async () => {
    const after = MAIN.replace(/function clamp[\s\S]*?\n}\n/, "").replace("clamp(dmg(e.damage) + bonus)", "dmg(e.damage) + bonus");
    const diff = await diffMain(MAIN, after);
    expect(diff.changes).toEqual([
      { kind: "removed", path: "function clamp" },
      { kind: "modified", path: "on.hit" },
    ]);
  });

  it("reports a field added to the state type as a shape change", async () => {
    const diff = await diffMain(MAIN, MAIN.replace("best?: Player }", "best?: Player; misses: number }"));
    expect(diff.changes).toEqual([{ kind: "modified", path: "type State" }]);
    expect(diff.stateShapeChanged).toBe(true);
    expect(diff.stateShapeReasons).toEqual(["type State"]);
  });

  it("reports a change to a type the state uses, in another file, as a shape change", async () => {
    const diff = await diffVersions(version(FILES), version({ ...FILES, "lib/types.ts": TYPES.replace("level: number", "level: string") }));
    expect(diff.changes).toEqual([{ kind: "modified", path: "lib/types.ts: interface Player" }]);
    expect(diff.stateShapeReasons).toEqual(["lib/types.ts: interface Player"]);
  });

  it("follows the state type through local types, enums, typeof and re-exports", async () => {
    const main = (element: string): string => `import { defineMod } from "@modhost/sdk";
import * as T from "./lib/index.js";
enum Mode { Calm = "calm", Angry = "angry" }
const START = { mode: Mode.Calm };
interface Item { name: string; tag: T.Tag }
type State = { items: Item[]; start: typeof START; mode: Mode };
export default defineMod<State>({ init: () => ({ items: [], start: START, mode: Mode.Calm }) });
`.replace("name: string", element);
    const lib = { "lib/index.ts": `export * from "./tags.js";\n`, "lib/tags.ts": `export type Tag = "a" | "b";\nexport type Other = 1;\n` };
    const before = version({ "main.ts": main("name: string"), ...lib });

    const local = await diffVersions(before, version({ "main.ts": main("name: string[]"), ...lib }));
    expect(local.stateShapeReasons).toEqual(["interface Item"]);

    const reexported = await diffVersions(before, version({ "main.ts": main("name: string"), ...lib, "lib/tags.ts": `export type Tag = "a" | "b" | "c";\nexport type Other = 1;\n` }));
    expect(reexported.stateShapeReasons).toEqual(["lib/tags.ts: type Tag"]);

    const unrelated = await diffVersions(before, version({ "main.ts": main("name: string"), ...lib, "lib/tags.ts": `export type Tag = "a" | "b";\nexport type Other = 2;\n` }));
    expect(unrelated.changes).toEqual([{ kind: "modified", path: "lib/tags.ts: type Other" }]);
    expect(unrelated.stateShapeChanged).toBe(false);

    const enumValue = await diffVersions(before, version({ "main.ts": main("name: string").replace('Calm = "calm"', 'Calm = "quiet"'), ...lib }));
    expect(enumValue.stateShapeReasons).toEqual(["enum Mode"]);

    const typeofConstant = await diffVersions(before, version({ "main.ts": main("name: string").replace("const START = { mode: Mode.Calm }", "const START = { mode: Mode.Calm, at: 0 }"), ...lib }));
    expect(typeofConstant.stateShapeReasons).toEqual(["const START"]);
  });

  it("does not count a change to an unrelated type as a shape change", async () => {
    const diff = await diffMain(MAIN, MAIN.replace("note: string", "note: number"));
    expect(diff.changes).toEqual([{ kind: "modified", path: "type Unrelated" }]);
    expect(diff.stateShapeChanged).toBe(false);
    expect(diff.stateShapeReasons).toEqual([]);
  });

  it("counts a changed init as a shape change", async () => {
    const diff = await diffMain(MAIN, MAIN.replace("init: () => ({ hits: {} })", "init: () => ({ hits: { admin: 0 } })"));
    expect(diff.changes).toEqual([{ kind: "modified", path: "init" }]);
    expect(diff.stateShapeReasons).toEqual(["init"]);
  });

  it("lists the state type before init among the reasons", async () => {
    const after = MAIN.replace("best?: Player }", "best?: Player; n: number }").replace("({ hits: {} })", "({ hits: {}, n: 0 })");
    expect((await diffMain(MAIN, after)).stateShapeReasons).toEqual(["type State", "init"]);
  });

  it("without a state type, judges the shape by init and what init uses", async () => {
    const mod = (fresh: string): string => `import { defineMod } from "@modhost/sdk";
function fresh() { return ${fresh}; }
const LIMIT = 3;
export default defineMod({
  init: fresh,
  on: { hit: (s: { n: number }) => LIMIT + s.n },
});
`;
    const helper = await diffMain(mod("{ n: 0 }"), mod("{ n: 0, m: 1 }"));
    expect(helper.changes).toEqual([{ kind: "modified", path: "function fresh" }]);
    expect(helper.stateShapeReasons).toEqual(["function fresh"]);

    const unrelated = await diffMain(mod("{ n: 0 }"), mod("{ n: 0 }").replace("LIMIT = 3", "LIMIT = 4"));
    expect(unrelated.changes).toEqual([{ kind: "modified", path: "const LIMIT" }]);
    expect(unrelated.stateShapeChanged).toBe(false);
  });

  it("asks for a migrate() when the state cannot be read statically and the code changed", async () => {
    const mod = `import { defineMod } from "@modhost/sdk";\nimport { definition } from "./def.js";\nexport default defineMod(definition);\n`;
    const before = version({ "main.ts": mod, "def.ts": "export const definition = { on: {} };\n" });
    const changed = await diffVersions(before, version({ "main.ts": mod, "def.ts": "export const definition = { init: () => ({ a: 1 }), on: {} };\n" }));
    expect(changed.stateShapeReasons).toEqual([STATE_SHAPE_UNKNOWN]);
    const same = await diffVersions(before, version({ "main.ts": mod, "def.ts": "export const definition = { on: {} }\n" }));
    expect(same.noop).toBe(true);
    expect(same.stateShapeChanged).toBe(false);
  });

  it("tells whether the new version defines migrate()", async () => {
    const withMigrate = MAIN.replace("  init:", "  migrate: (old) => old as State,\n  init:");
    const diff = await diffMain(MAIN, withMigrate);
    expect(diff.changes).toEqual([{ kind: "added", path: "migrate" }]);
    expect(diff.newHasMigrate).toBe(true);
    expect(diff.stateShapeChanged).toBe(false);
    expect((await diffMain(withMigrate, MAIN)).newHasMigrate).toBe(false);
  });

  it("finds the definition through a const, an aliased import and a namespace import", async () => {
    const viaConst = `import { defineMod as mod } from "@modhost/sdk";
type State = { n: number };
const definition = mod<State>({ init: () => ({ n: 0 }), on: { hit: (s) => s.n } });
export default definition;
`;
    const diff = await diffMain(viaConst, viaConst.replace("(s) => s.n", "(s) => s.n + 1").replace("n: number", "n: number; m?: number"));
    expect(diff.changes).toEqual([
      { kind: "modified", path: "on.hit" },
      { kind: "modified", path: "type State" },
    ]);
    expect(diff.stateShapeReasons).toEqual(["type State"]);

    const viaNamespace = `import * as sdk from "@modhost/sdk";\nexport default sdk.defineMod<{ n: number }>({ on: { hit: (s) => s.n } });\n`;
    const inline = await diffMain(viaNamespace, viaNamespace.replace("{ n: number }", "{ n: string }"));
    expect(inline.changes).toEqual([{ kind: "modified", path: "export default" }]);
    expect(inline.stateShapeReasons).toEqual(["state type argument"]);
  });

  it("reads the state type of a plain object that satisfies ModDefinition<State>", async () => {
    const mod = `import type { ModDefinition } from "@modhost/sdk";
type State = { n: number };
export default {
  init: () => ({ n: 0 }),
  on: { hit: (s: State) => s.n },
} satisfies ModDefinition<State>;
`;
    const diff = await diffMain(mod, mod.replace("n: number", "n: number; m: number").replace("s.n }", "s.n + 1 }"));
    expect(diff.changes).toEqual([
      { kind: "modified", path: "on.hit" },
      { kind: "modified", path: "type State" },
    ]);
    expect(diff.stateShapeReasons).toEqual(["type State"]);
  });

  it("compares files that do not parse without throwing", async () => {
    const broken = MAIN.replace("return state.hits[e.player];", "return state.hits[e.player;");
    const diff = await diffMain(MAIN, broken);
    expect(diff.noop).toBe(false);
    expect((await diffMain(broken, broken)).noop).toBe(true);
    expect((await diffMain("", "}{")).noop).toBe(false);
  });

  it("qualifies changes in other files by path and reports added and removed files", async () => {
    const changed = await diffVersions(version(FILES), version({ ...FILES, "lib/util.ts": UTIL.replace("n * 2", "n * 3") }));
    expect(changed.changes).toEqual([{ kind: "modified", path: "lib/util.ts: function dmg" }]);
    expect(changed.stateShapeChanged).toBe(false);

    const added = await diffVersions(version(FILES), version({ ...FILES, "lib/extra.ts": "export const x = 1;\n" }));
    expect(added.changes).toEqual([{ kind: "added", path: "file lib/extra.ts" }]);

    const { "lib/util.ts": _removed, ...rest } = FILES;
    const removed = await diffVersions(version(FILES), version(rest));
    expect(removed.changes).toEqual([{ kind: "removed", path: "file lib/util.ts" }]);
  });

  it("treats imports as a set but notices a new binding", async () => {
    const split = MAIN.replace(`import { bonus, dmg } from "./lib/util.js";`, `import { dmg } from "./lib/util.js";\nimport { bonus } from "./lib/util.js";`);
    expect((await diffMain(MAIN, split)).noop).toBe(true);
    const renamed = await diffMain(MAIN, MAIN.replace("{ bonus, dmg }", "{ bonus as extra, dmg }"));
    expect(renamed.changes).toEqual([{ kind: "modified", path: "imports" }]);
  });

  it("notices string contents, let versus const and new top-level statements", async () => {
    const base = `const a = "x";\nlet b = 1;\n`;
    expect((await diffMain(base, `const a = 'x'\nlet b = 1\n`)).noop).toBe(true);
    expect((await diffMain(base, `const a = "y";\nlet b = 1;\n`)).changes).toEqual([{ kind: "modified", path: "const a" }]);
    expect((await diffMain(base, `const a = "x";\nconst b = 1;\n`)).changes).toEqual([
      { kind: "added", path: "const b" },
      { kind: "removed", path: "let b" },
    ]);
    expect((await diffMain(base, `${base}console.log(a);\n`)).changes).toEqual([{ kind: "added", path: "statement #1" }]);
  });

  it("ignores the order of hoisted declarations but not of code that runs at load time", async () => {
    const fns = "function a() { return 1; }\nfunction b() { return 2; }\n";
    expect((await diffMain(fns, "function b() { return 2; }\nfunction a() { return 1; }\n")).noop).toBe(true);
    const run = `const a = log("a");\nconst b = log("b");\n`;
    expect((await diffMain(run, `const b = log("b");\nconst a = log("a");\n`)).changes).toEqual([{ kind: "modified", path: "evaluation order" }]);
  });

  it("reports manifest changes: version bump alone is a change but no shape change", async () => {
    const diff = await diffVersions(version(FILES), version(FILES, { version: "1.0.1" }));
    expect(diff).toMatchObject({ noop: false, changes: [{ kind: "modified", path: "mod.json#version" }], stateShapeChanged: false });
    const described = await diffVersions(version(FILES), version(FILES, { description: "counts hits" }));
    expect(described.changes).toEqual([{ kind: "added", path: "mod.json#description" }]);
  });

  it("lists permissions the new manifest adds", async () => {
    const diff = await diffVersions(version(FILES, { permissions: ["log"] }), version(FILES, { permissions: ["broadcast", "log"] }));
    expect(diff.permissionsAdded).toEqual(["broadcast"]);
    expect(diff.changes).toEqual([{ kind: "modified", path: "mod.json#permissions" }]);
    const reordered = await diffVersions(version(FILES, { permissions: ["a", "b"] }), version(FILES, { permissions: ["b", "a"] }));
    expect(reordered.noop).toBe(true);
  });

  it("lists raised limits, not lowered ones", async () => {
    const raised = await diffVersions(version(FILES, { limits: { memoryMb: 16, callTimeoutMs: 50 } }), version(FILES, { limits: { memoryMb: 32, callTimeoutMs: 20 } }));
    expect(raised.limitsRaised).toEqual(["memoryMb"]);
    expect(raised.changes).toEqual([{ kind: "modified", path: "mod.json#limits" }]);
    const lowered = await diffVersions(version(FILES, { limits: { memoryMb: 32 } }), version(FILES, { limits: { memoryMb: 16 } }));
    expect(lowered.limitsRaised).toEqual([]);
    expect(lowered.noop).toBe(false);
    const set = await diffVersions(version(FILES), version(FILES, { limits: { callTimeoutMs: 10 } }));
    expect(set.limitsRaised).toEqual(["callTimeoutMs"]);
  });

  it("sorts changes by path across code and manifest", async () => {
    const after = { ...FILES, "main.ts": MAIN.replace("note: string", "note: number").replace("return state.hits[e.player];", "return 0;"), "lib/util.ts": UTIL.replace("= 1", "= 2") };
    const diff = await diffVersions(version(FILES), version(after, { version: "2.0.0" }));
    expect(diff.changes.map((c) => c.path)).toEqual(["lib/util.ts: const bonus", "mod.json#version", "on.hit", "type Unrelated"]);
  });

  it("parses each distinct file text once", async () => {
    await diffVersions(version(FILES), version(FILES));
    const before = fileDeclarationsStats();
    await diffVersions(version(FILES), version({ ...FILES, "lib/util.ts": `${UTIL}// touched\n` }));
    const after = fileDeclarationsStats();
    expect(after.parsed - before.parsed).toBe(1);
    expect(after.cacheHits - before.cacheHits).toBe(5);
  });

  it("diffs a 100-line mod in a few milliseconds once its files are cached", async () => {
    const big = hundredLineMod(0);
    const next = hundredLineMod(1);
    await diffMain(big, next);
    const runs = 50;
    const start = performance.now();
    for (let i = 0; i < runs; i++) await diffMain(big, next);
    expect((performance.now() - start) / runs).toBeLessThan(5);
  });
});

/** A mod of about 100 lines; `variant` changes one handler. */
function hundredLineMod(variant: number): string {
  const lines = [`import { defineMod } from "@modhost/sdk";`, `type State = { hits: Record<string, number>; hp: Record<string, number> };`];
  for (let i = 0; i < 15; i++) {
    lines.push(`function helper${i}(n: number): number {`, `  const k = n * ${i} + 1;`, `  return k > 100 ? 100 : k;`, `}`);
  }
  lines.push(`export default defineMod<State>({`, `  init: () => ({ hits: {}, hp: {} }),`, `  on: {`);
  for (let i = 0; i < 8; i++) {
    lines.push(`    ev${i}(state, e: { player: string; n: number }) {`, `      state.hits[e.player] = helper${i}(e.n) + ${i === 0 ? variant : 0};`, `      return state.hits[e.player];`, `    },`);
  }
  lines.push(`  },`, `});`);
  return lines.join("\n");
}

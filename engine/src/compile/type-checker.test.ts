import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModTypeChecker } from "./type-checker.js";

const files = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));

const COUNTER = `import { defineMod } from "@modhost/sdk";
import { bump } from "./lib/bump.js";

type State = { hits: Record<string, number> };

export default defineMod<State>({
  init: () => ({ hits: {} }),
  migrate: (old, fromVersion) => ({ hits: (old as State).hits }),
  on: {
    hit(state, e, ctx) {
      const player = (e as { player: string }).player;
      state.hits[player] = bump(state.hits[player] ?? 0);
      ctx.log("hit", player, ctx.now(), ctx.random(), ctx.mod.name);
      console.log("also fine");
      return state.hits[player];
    },
  },
});
`;

const BUMP = `export function bump(n: number): number {\n  return n + 1;\n}\n`;

describe("ModTypeChecker", () => {
  let checker: ModTypeChecker;
  let tmp: string;

  beforeAll(async () => {
    checker = await ModTypeChecker.create();
    tmp = mkdtempSync(join(tmpdir(), "modhost-types-"));
  });
  afterAll(() => {
    checker.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("type-checks a mod that imports the SDK's defineMod and its own files", () => {
    expect(checker.check("counter", files({ "main.ts": COUNTER, "lib/bump.ts": BUMP }))).toEqual([]);
  });

  it("reports a type error at its .ts line and column as E_TYPE", () => {
    const diagnostics = checker.check("typo", files({ "main.ts": `const a = 1;\nconst s: string = a;\n` }));
    expect(diagnostics).toEqual([
      { code: "E_TYPE", severity: "error", message: "Type 'number' is not assignable to type 'string'. (TS2322)", file: "main.ts", line: 2, column: 6 },
    ]);
  });

  it("reports errors in imported files under their own path", () => {
    const diagnostics = checker.check("nested", files({ "main.ts": `import { f } from "./lib/f";\nexport const x: number = f();\n`, "lib/f.ts": `export function f(): string {\n  return 1;\n}\n` }));
    expect(diagnostics.map((d) => [d.code, d.file, d.line, d.column, d.message])).toEqual([
      ["E_TYPE", "lib/f.ts", 2, 2, "Type 'number' is not assignable to type 'string'. (TS2322)"],
      ["E_TYPE", "main.ts", 2, 13, "Type 'string' is not assignable to type 'number'. (TS2322)"],
    ]);
  });

  it("has no Node or DOM globals: process, setTimeout, require, document are type errors", () => {
    const source = `export const env = process.env;\nsetTimeout(() => {}, 1);\nconst fs = require("fs");\ndocument.title = "x";\n`;
    const diagnostics = checker.check("escape", files({ "main.ts": source }));
    expect(diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([
      ["E_TYPE", 1, 19],
      ["E_TYPE", 2, 0],
      ["E_TYPE", 3, 11],
      ["E_TYPE", 4, 0],
    ]);
    expect(diagnostics[0]?.message).toMatch(/Cannot find name 'process'.*\(TS\d+\)$/);
    expect(diagnostics[1]?.message).toMatch(/Cannot find name 'setTimeout'.*\(TS\d+\)$/);
  });

  it("is clean again after the error is fixed, re-checking incrementally", () => {
    const broken = files({ "main.ts": COUNTER.replace("bump(state.hits[player] ?? 0)", `bump("0")`), "lib/bump.ts": BUMP });
    const errors = checker.check("fixme", broken);
    expect(errors).toMatchObject([{ code: "E_TYPE", file: "main.ts", line: 12, column: 32 }]);
    expect(errors[0]?.message).toContain("(TS2345)");
    expect(checker.check("fixme", files({ "main.ts": COUNTER, "lib/bump.ts": BUMP }))).toEqual([]);
    // A deleted file is gone from the program: its importer now fails to resolve it.
    expect(checker.check("fixme", files({ "main.ts": COUNTER }))).toMatchObject([{ code: "E_TYPE", file: "main.ts", line: 2 }]);
  });

  it("re-checks the importers of an edited file, even through re-exports and import types", () => {
    const mod = (value: string): Map<string, string> =>
      files({
        "main.ts": `import { ns } from "./mid";\nexport const n: number = ns.value;\n`,
        "mid.ts": `export * as ns from "./leaf";\n`,
        "types.ts": `export type Value = typeof import("./leaf").value;\nexport const check: Value = 1;\n`,
        "leaf.ts": `export const value = ${value};\n`,
        "other.ts": `export const broken: string = 1;\n`,
      });
    const before = checker.check("importers", mod("1"));
    expect(before.map((d) => d.file)).toEqual(["other.ts"]);
    const after = checker.check("importers", mod(`"one"`));
    expect(after.map((d) => [d.file, d.line, d.message.slice(-8)])).toEqual([
      ["main.ts", 2, "(TS2322)"],
      ["other.ts", 1, "(TS2322)"],
      ["types.ts", 2, "(TS2322)"],
    ]);
    expect(checker.check("importers", mod("1"))).toEqual(before);
  });

  it("re-checks every file when an edited file declares globals or augments a module", () => {
    const mod = (global: string, augment: string): Map<string, string> =>
      files({
        "globals.ts": `export {};\ndeclare global {\n  ${global}\n}\n`,
        "aug.ts": `import "./thing";\ndeclare module "./thing" {\n  interface Thing { ${augment} }\n}\n`,
        "thing.ts": `export interface Thing { a: number }\n`,
        "use.ts": `import type { Thing } from "./thing";\nexport const t: Thing = { a: 1, b: 2 };\nexport const s: number = score;\n`,
      });
    expect(checker.check("globals", mod("var score: number;", "b: number;"))).toEqual([]);
    expect(checker.check("globals", mod("var other: number;", "b: number;")).map((d) => [d.file, d.line])).toEqual([["use.ts", 3]]);
    expect(checker.check("globals", mod("var score: number;", "c: number;")).map((d) => [d.file, d.line])).toEqual([["use.ts", 2]]);
    expect(checker.check("globals", mod("var score: number;", "b: number;"))).toEqual([]);
  });

  it("resolves ./x, ./x.js and ./x.ts to the mod's files and nothing else", () => {
    const main = `import { a } from "./a";\nimport { b } from "./b.js";\nimport { c } from "./c.ts";\nimport { d } from "../outside";\nexport const sum: number = a + b + c;\n`;
    const diagnostics = checker.check("imports", files({ "main.ts": main, "a.ts": "export const a = 1;\n", "b.ts": "export const b = 2;\n", "c.ts": "export const c = 3;\n" }));
    expect(diagnostics.map((d) => [d.line, d.message.slice(-8)])).toEqual([[4, "(TS2307)"]]);
  });

  it("keeps two mods apart: one cannot import or see the other's files", () => {
    expect(checker.check("mod-a", files({ "main.ts": "export const secret = 1;\n", "shared.ts": "export const onlyInA = 1;\n" }))).toEqual([]);
    const diagnostics = checker.check("mod-b", files({ "main.ts": `import { onlyInA } from "./shared";\nexport const x = onlyInA;\n` }));
    expect(diagnostics).toMatchObject([{ code: "E_TYPE", file: "main.ts", line: 1, column: 24 }]);
    expect(diagnostics[0]?.message).toContain("(TS2307)");
    // Each file is a module: a top-level name of one file is not a global of another.
    expect(checker.check("mod-c", files({ "main.ts": "export const y = secret;\n" }))).toMatchObject([{ code: "E_TYPE", line: 1, column: 17 }]);
  });

  it("reports syntax errors as E_SYNTAX at their position", () => {
    expect(checker.check("syntax", files({ "main.ts": "const a = 1;\nconst b = a +;\n" }))).toEqual([
      { code: "E_SYNTAX", severity: "error", message: "Expression expected. (TS1109)", file: "main.ts", line: 2, column: 13 },
    ]);
  });

  it("forgets a mod and rejects checks after dispose", async () => {
    const own = await ModTypeChecker.create();
    expect(own.check("m", files({ "main.ts": "export const a: number = 1;\n" }))).toEqual([]);
    own.forget("m");
    expect(own.check("m", files({ "main.ts": "export const a: number = '1';\n" }))).toHaveLength(1);
    own.dispose();
    expect(() => own.check("m", files({ "main.ts": "" }))).toThrow(/disposed/);
  });

  const GOOD_HIT = `import { defineMod } from "@modhost/sdk";\nexport default defineMod<{ n: number }>({\n  on: {\n    hit(state, e) {\n      state.n += e.player.length;\n    },\n  },\n});\n`;

  // The game's declarations as a script .d.ts (the form the SDK documents) and as a module.
  for (const [form, text] of [
    ["script", `declare module "@modhost/sdk" { interface ModEvents { hit: { player: string } } }\n`],
    ["module", `export {};\ndeclare module "@modhost/sdk" {\n  interface ModEvents { hit: { player: string } }\n}\n`],
  ] as const) {
    it(`types handler payloads through the game's extraTypeFiles augmentation (${form} form)`, async () => {
      const gameTypes = join(tmp, `game-${form}.d.ts`);
      writeFileSync(gameTypes, text);
      const typed = await ModTypeChecker.create({ extraTypeFiles: [gameTypes] });
      try {
        expect(typed.check("game-mod", files({ "main.ts": GOOD_HIT }))).toEqual([]);
        const diagnostics = typed.check("game-mod", files({ "main.ts": GOOD_HIT.replace("e.player.length", "e.damage") }));
        expect(diagnostics).toEqual([
          { code: "E_TYPE", severity: "error", message: "Property 'damage' does not exist on type '{ player: string; }'. (TS2339)", file: "main.ts", line: 5, column: 19 },
        ]);
        // An event the game does not declare is refused too.
        const unknownEvent = GOOD_HIT.replace("hit(state, e)", "miss(state, e: unknown)").replace("e.player.length", "1");
        expect(typed.check("game-mod", files({ "main.ts": unknownEvent })).map((d) => d.message.slice(-8))).toContain("(TS2353)");
      } finally {
        typed.dispose();
      }
    });
  }

  it("leaves payloads open (unknown) when the game declares no events", () => {
    const diagnostics = checker.check("untyped", files({ "main.ts": GOOD_HIT }));
    expect(diagnostics).toMatchObject([{ code: "E_TYPE", line: 5, column: 17 }]);
    expect(diagnostics[0]?.message).toContain("'e' is of type 'unknown'");
  });

  it("rejects a missing declaration file at create", async () => {
    await expect(ModTypeChecker.create({ extraTypeFiles: [join(tmp, "nope.d.ts")] })).rejects.toThrow(/nope\.d\.ts/);
    await expect(ModTypeChecker.create({ extraTypeFiles: ["relative.d.ts"] })).rejects.toThrow(/absolute/);
  });
});

// MODHOST_BENCH=1 npx vitest run engine/src/compile/type-checker.test.ts -t benchmark
// A fresh Node process on the built engine (npm run build), so "cold" is really cold.
const BENCH_CHILD = `
const [dist] = process.argv.slice(2);
const lines = ['import { defineMod } from "@modhost/sdk";', "type State = { hits: Record<string, number>; total: number };"];
for (let i = 0; i < 16; i++) {
  lines.push(\`export function helper\${i}(state: State, player: string): number {\`, \`  const next = (state.hits[player] ?? 0) + \${i};\`, "  state.hits[player] = next;", "  return next * 2;", "}");
}
lines.push("export default defineMod<State>({", "  init: () => ({ hits: {}, total: 0 }),", "  on: {", "    hit(state, e, ctx) {", "      const p = (e as { player: string }).player;", "      state.total += helper0(state, p) + helper1(state, p);", "      ctx.log(p);", "      return state.total;", "    },", "  },", "});");
while (lines.length < 100) lines.push(\`export const filler\${lines.length}: readonly number[] = [\${lines.length}].map((n) => n + 1);\`);
const main = lines.join("\\n") + "\\n";
const edit = (n) => new Map([["main.ts", main.replace("return next * 2;", \`return next * \${n};\`)]]);
const time = (f) => { const t = performance.now(); const c = process.cpuUsage(); const r = f(); const u = process.cpuUsage(c); return { r, wall: performance.now() - t, cpu: (u.user + u.system) / 1000 }; };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let t = performance.now();
const { ModTypeChecker } = await import(dist + "type-checker.js");
const checker = await ModTypeChecker.create();
const createMs = performance.now() - t;
const cold = time(() => checker.check("a", new Map([["main.ts", main]])));
if (cold.r.length !== 0) throw new Error(JSON.stringify(cold.r));
const firstEdit = time(() => checker.check("a", edit(3)));
const edits = [];
for (let i = 0; i < 30; i++) edits.push(time(() => checker.check("a", edit(i + 4))));
const unchanged = time(() => checker.check("a", edit(33)));
const secondMod = time(() => checker.check("b", new Map([["main.ts", main.replace("hits", "count")]])));
// A third mod of 10 files (~300 lines): a one-line edit of a file only main.ts imports.
const ten = new Map();
for (let i = 1; i < 10; i++) {
  const body = [\`export interface Part\${i} { readonly n: number; readonly tags: readonly string[] }\`];
  for (let j = 0; j < 8; j++) body.push(\`export function part\${i}_\${j}(x: number): Part\${i} {\`, \`  const tags = [String(x), "\${j}"].filter((t) => t.length > 0);\`, \`  return { n: x * \${j + 1}, tags };\`, "}");
  ten.set(\`lib/part\${i}.ts\`, body.join("\\n") + "\\n");
}
ten.set("main.ts", 'import { defineMod } from "@modhost/sdk";\\n' + [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => \`import { part\${i}_0 } from "./lib/part\${i}.js";\`).join("\\n") + "\\nexport default defineMod({ init: () => ({ total: part1_0(1).n + part9_0(2).n }) });\\n");
const tenCold = time(() => checker.check("ten", ten));
if (tenCold.r.length !== 0) throw new Error(JSON.stringify(tenCold.r));
const tenEdits = [];
for (let i = 0; i < 30; i++) {
  const edited = new Map(ten);
  edited.set("lib/part5.ts", ten.get("lib/part5.ts").replace("x * 3", \`x * \${i + 10}\`));
  tenEdits.push(time(() => checker.check("ten", edited)));
}
console.log(JSON.stringify({
  lines: main.split("\\n").length - 1,
  createMs, coldCheckMs: cold.wall, firstEditMs: firstEdit.wall,
  editMedianMs: median(edits.map((e) => e.wall)), editMedianCpuMs: median(edits.map((e) => e.cpu)),
  unchangedMs: unchanged.wall, secondModMs: secondMod.wall,
  tenFileModColdMs: tenCold.wall, tenFileLeafEditMedianMs: median(tenEdits.map((e) => e.wall)),
}));
`;

describe.runIf(process.env["MODHOST_BENCH"] !== undefined)("ModTypeChecker benchmark", () => {
  it("benchmark: cold check, warm re-check after a one-line edit, second mod", () => {
    const dist = fileURLToPath(new URL("../../dist/compile/", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "modhost-types-bench-"));
    try {
      const script = join(dir, "bench.mjs");
      writeFileSync(script, BENCH_CHILD);
      const runs = Array.from({ length: 5 }, () => JSON.parse(execFileSync(process.execPath, [script, dist], { encoding: "utf8" })) as Record<string, number>);
      const keys = Object.keys(runs[0] ?? {});
      const medians = Object.fromEntries(keys.map((k) => [k, Number([...runs.map((r) => r[k] ?? 0)].sort((a, b) => a - b)[2]?.toFixed(2))]));
      console.log(`type checker, median of ${runs.length} fresh processes: ${JSON.stringify(medians)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compileStats } from "./compile-file.js";
import { compileMod, typescriptVersion, type ModSourceInput } from "./compile-mod.js";

// The compile cache is process-wide: a unique marker per test keeps tests from sharing entries.
function mod(files: Record<string, string>, entry = "main.ts"): ModSourceInput {
  const marker = `// ${randomUUID()}\n`;
  return { modName: "test-mod", entry, files: new Map(Object.entries(files).map(([path, text]) => [path, marker + text])) };
}

const SDK_MAIN = `import { defineMod } from "@modhost/sdk";
import { double } from "./lib/util.js";
export default defineMod({ init: () => ({ n: double(1) }) });
`;

describe("compile", () => {
  it("compiles every module reachable from the entry to ES modules with source maps", async () => {
    const result = await compileMod(
      mod({
        "main.ts": SDK_MAIN,
        "lib/util.ts": `import type { Helper } from "./types";\nexport const double = (n: number): number => n * 2;\nexport type { Helper };\n`,
        "lib/types.ts": `export interface Helper { name: string }\n`,
        "unused.ts": `export const x = 1;\n`,
      }),
    );
    expect(result.diagnostics).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.modules.map((m) => m.path)).toEqual(["main.ts", "lib/util.ts", "lib/types.ts"]);
    const [main, util] = result.modules;
    expect(main?.js).toContain(`from "@modhost/sdk"`);
    expect(main?.js).not.toContain("sourceMappingURL");
    expect(util?.js).toContain("export const double = (n) => n * 2;");
    expect(util?.js).not.toContain("./types");
    expect(main?.imports).toEqual([
      { specifier: "@modhost/sdk", resolved: { kind: "sdk" }, typeOnly: false },
      { specifier: "./lib/util.js", resolved: { kind: "mod", path: "lib/util.ts" }, typeOnly: false },
    ]);
    expect(util?.imports).toEqual([{ specifier: "./types", resolved: { kind: "mod", path: "lib/types.ts" }, typeOnly: true }]);
    const map = JSON.parse(util?.sourceMap ?? "{}") as { version: number; file: string; sources: string[]; sourcesContent: string[] };
    expect(map).toMatchObject({ version: 3, file: "lib/util.ts", sources: ["lib/util.ts"] });
    expect(map.sourcesContent[0]).toContain("export const double");
  });

  it("reports a syntax error at its .ts line and column", async () => {
    const result = await compileMod({ modName: "m", entry: "main.ts", files: new Map([["main.ts", "const a = 1;\nconst b = a +;\n"]]) });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toEqual([
      { code: "E_SYNTAX", severity: "error", message: "Expression expected. (TS1109)", file: "main.ts", line: 2, column: 13 },
    ]);
  });

  it("refuses imports outside the mod and the SDK, at the specifier's position", async () => {
    const result = await compileMod(
      mod({
        "main.ts": `import "./lib/a.js";\nimport { readFileSync } from "node:fs";\nexport * from "../other/main.js";\n`,
        "lib/a.ts": `import type { Stats } from "fs";\nexport type { X } from "lodash";\nexport const a = 1;\n`,
      }),
    );
    expect(result.ok).toBe(false);
    const refused = result.diagnostics.filter((d) => d.code === "E_IMPORT_REFUSED");
    expect(refused.map((d) => [d.file, d.line, d.column])).toEqual([
      // Line 1 of every file is the test's marker comment.
      ["main.ts", 3, 29],
      ["main.ts", 4, 14],
      ["lib/a.ts", 2, 27],
      ["lib/a.ts", 3, 23],
    ]);
    expect(refused[0]?.message).toContain("node:fs");
  });

  it("reports an import of a missing file", async () => {
    const result = await compileMod({ modName: "m", entry: "main.ts", files: new Map([["main.ts", `import { x } from "./nope.js";\nexport const y = x;\n`]]) });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toMatchObject([{ code: "E_IMPORT_NOT_FOUND", severity: "error", file: "main.ts", line: 1, column: 18 }]);
  });

  it("allows import type from the SDK and checks every import of every reached module", async () => {
    const result = await compileMod(
      mod({
        "main.ts": `import type { ModContext } from "@modhost/sdk";\nimport { b } from "./b";\nexport const f = (c: ModContext) => b;\n`,
        "b.ts": `export { c as b } from "./c";\n`,
        "c.ts": `import "./d";\nexport const c = 1;\n`,
      }),
    );
    expect(result.diagnostics).toMatchObject([{ code: "E_IMPORT_NOT_FOUND", file: "c.ts", line: 2, column: 7 }]);
    expect(result.modules.map((m) => m.path)).toEqual(["main.ts", "b.ts", "c.ts"]);
  });

  it("reports a missing entry file", async () => {
    const result = await compileMod({ modName: "m", entry: "main.ts", files: new Map([["other.ts", ""]]) });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toMatchObject([{ code: "E_IMPORT_NOT_FOUND", file: "main.ts", field: "entry" }]);
  });

  it("includes the safety rules' findings for every reached module", async () => {
    const result = await compileMod(mod({ "main.ts": `import "./evil";\n`, "evil.ts": `export const run = (s: string) => eval(s);\n` }));
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toMatchObject([{ code: "E_UNSAFE_CODE", file: "evil.ts", line: 2, column: 34 }]);
  });

  it("follows import cycles without looping", async () => {
    const result = await compileMod(mod({ "main.ts": `import { b } from "./b";\nexport const a = 1 + b;\n`, "b.ts": `import { a } from "./main";\nexport const b = 2;\nexport const c = () => a;\n` }));
    expect(result.ok).toBe(true);
    expect(result.modules.map((m) => m.path)).toEqual(["main.ts", "b.ts"]);
  });
});

describe("hash", () => {
  const files = { "main.ts": "export default 1;\n", "b.ts": "export const b = 1;\n" };

  it("is the same for the same sources in any order, and names the TypeScript version's output", async () => {
    const a = await compileMod({ modName: "m", entry: "main.ts", files: new Map(Object.entries(files)) });
    const b = await compileMod({ modName: "m", entry: "main.ts", files: new Map(Object.entries(files).reverse()) });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(await typescriptVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("changes when any file, path or the entry changes, even a file the entry does not reach", async () => {
    const base = (await compileMod({ modName: "m", entry: "main.ts", files: new Map(Object.entries(files)) })).hash;
    const variants: ModSourceInput[] = [
      { modName: "m", entry: "main.ts", files: new Map(Object.entries({ ...files, "b.ts": "export const b = 2;\n" })) },
      { modName: "m", entry: "main.ts", files: new Map(Object.entries({ ...files, "c.ts": "" })) },
      { modName: "m", entry: "b.ts", files: new Map(Object.entries(files)) },
      { modName: "m", entry: "main.ts", files: new Map(Object.entries({ "main.ts": files["main.ts"], "b2.ts": files["b.ts"] })) },
    ];
    for (const variant of variants) expect((await compileMod(variant)).hash).not.toBe(base);
  });
});

describe("cache", () => {
  it("recompiling with one changed file transpiles only that file", async () => {
    const input = mod({
      "main.ts": `import { a } from "./a";\nimport { b } from "./b";\nexport default a + b;\n`,
      "a.ts": `export const a = 1;\n`,
      "b.ts": `export const b = 2;\n`,
    });
    const before = compileStats();
    const first = await compileMod(input);
    const afterFirst = compileStats();
    expect(afterFirst.transpiled - before.transpiled).toBe(3);

    const changed = new Map(input.files);
    changed.set("b.ts", `${input.files.get("b.ts") ?? ""}export const extra = 3;\n`);
    const second = await compileMod({ ...input, files: changed });
    const afterSecond = compileStats();
    expect(afterSecond.transpiled - afterFirst.transpiled).toBe(1);
    expect(afterSecond.cacheHits - afterFirst.cacheHits).toBe(2);
    expect(second.modules.find((m) => m.path === "b.ts")?.js).toContain("extra");
    expect(second.modules.find((m) => m.path === "a.ts")?.js).toBe(first.modules.find((m) => m.path === "a.ts")?.js);
    expect(second.hash).not.toBe(first.hash);
  });

  it("recompiling unchanged sources transpiles nothing", async () => {
    const input = mod({ "main.ts": `export default 1;\n` });
    await compileMod(input);
    const before = compileStats();
    await compileMod(input);
    expect(compileStats().transpiled).toBe(before.transpiled);
  });
});

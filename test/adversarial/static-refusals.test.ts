/**
 * The load-time layer: the obvious forms of escape are refused before any code runs, with the
 * file and line, and the refused mod never gets a sandbox while the others load and serve.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISOLATIONS } from "../support/mod-fixture.js";
import { HOST_TEXT, counterMod, info, startRig, value, type Rig } from "./harness.js";

/** A mod whose main.ts has the hostile line on line 3 (after a comment and a blank line). */
function badMod(name: string, line: string, extraFiles: Record<string, string> = {}) {
  return {
    "mod.json": { name, version: "1.0.0", entry: "main.ts", permissions: [] },
    "main.ts": `// ${name}\n\n${line}\nexport default { on: { ping: (): string => "pong from ${name}" } };\n`,
    ...extraFiles,
  };
}

const CASES: { name: string; line: string; code: string; rule?: RegExp; file?: string; lineNo?: number; extra?: Record<string, string> }[] = [
  { name: "eval-call", line: `const x: unknown = eval("1 + 1"); void x;`, code: "E_UNSAFE_CODE", rule: /\[no-eval\]/ },
  { name: "eval-alias", line: `const e = eval; void e;`, code: "E_UNSAFE_CODE", rule: /\[no-eval\]/ },
  { name: "new-function", line: `const f = new Function("return 1"); void f;`, code: "E_UNSAFE_CODE", rule: /\[no-function-constructor\]/ },
  { name: "function-call", line: `const f = Function("return 1"); void f;`, code: "E_UNSAFE_CODE", rule: /\[no-function-constructor\]/ },
  { name: "ctor-call", line: `const f = (() => 1).constructor("return 1"); void f;`, code: "E_UNSAFE_CODE", rule: /\[no-constructor-call\]/ },
  { name: "ctor-chain", line: `const f = ({} as any).constructor.constructor("return 1"); void f;`, code: "E_UNSAFE_CODE", rule: /\[no-constructor-call\]/ },
  { name: "async-ctor-new", line: `const f = new (Object.getPrototypeOf(async function () {}).constructor)("return 1"); void f;`, code: "E_UNSAFE_CODE", rule: /\[no-constructor-call\]/ },
  { name: "ctor-reflect", line: `const f = Reflect.construct((function* () {}).constructor, ["return 1"]); void f;`, code: "E_UNSAFE_CODE", rule: /\[no-constructor-call\]/ },
  { name: "ctor-bind", line: `const f = (() => 1).constructor.bind(null, "return 1"); void f;`, code: "E_UNSAFE_CODE", rule: /\[no-constructor-call\]/ },
  { name: "ctor-destructure", line: `const { constructor: C } = (() => 1) as any; void C;`, code: "E_UNSAFE_CODE", rule: /\[no-constructor-call\]/ },
  { name: "global-computed", line: `const k = "ev" + "al"; const f = (globalThis as any)[k]; void f;`, code: "E_UNSAFE_CODE", rule: /\[no-global-computed\]/ },
  { name: "dynamic-import", line: `const m = import("./main.ts"); void m;`, code: "E_UNSAFE_CODE", rule: /\[no-dynamic-import\]/ },
  { name: "import-meta", line: `const u = (import.meta as any).url; void u;`, code: "E_UNSAFE_CODE", rule: /\[no-import-meta\]/ },
  { name: "require-call", line: `const fs = require("fs"); void fs;`, code: "E_UNSAFE_CODE", rule: /\[no-require\]/ },
  { name: "process-exit", line: `(globalThis as any).process.exit(1);`, code: "E_UNSAFE_CODE", rule: /\[sandbox-global\]/ },
  { name: "import-fs", line: `import * as fs from "fs"; void fs;`, code: "E_IMPORT_REFUSED", rule: /"fs" is not available/ },
  { name: "import-node-fs", line: `import { readFileSync } from "node:fs"; void readFileSync;`, code: "E_IMPORT_REFUSED", rule: /"node:fs" is not available/ },
  { name: "import-side-effect", line: `import "node:child_process";`, code: "E_IMPORT_REFUSED", rule: /node:child_process/ },
  { name: "export-star", line: `export * from "child_process";`, code: "E_IMPORT_REFUSED", rule: /child_process/ },
  { name: "import-type-only", line: `import type { Stats } from "node:fs"; let s: Stats | undefined; void s;`, code: "E_IMPORT_REFUSED", rule: /node:fs/ },
  { name: "import-other-mod", line: `import other from "../counter/main.ts"; void other;`, code: "E_IMPORT_REFUSED", rule: /outside the mod's folder/ },
  { name: "import-absolute", line: `import x from "/work/main/engine/dist/index.js"; void x;`, code: "E_IMPORT_REFUSED", rule: /absolute path/ },
  { name: "import-file-url", line: `import x from "file:///etc/passwd"; void x;`, code: "E_IMPORT_REFUSED", rule: /file:\/\/\/etc\/passwd/ },
  { name: "import-backslash", line: `import x from "..\\\\counter\\\\main.ts"; void x;`, code: "E_IMPORT_REFUSED", rule: /forward slashes/ },
  { name: "import-sdk-internals", line: `import x from "@modhost/sdk/../../engine/dist/index.js"; void x;`, code: "E_IMPORT_REFUSED", rule: /only "@modhost\/sdk" itself/ },
  {
    name: "nested-import",
    line: `import { f } from "./lib/util.ts"; void f;`,
    extra: { "lib/util.ts": `export const f = 1;\nimport * as cp from "node:child_process";\nvoid cp;\n` },
    code: "E_IMPORT_REFUSED",
    rule: /node:child_process/,
    file: "lib/util.ts",
    lineNo: 2,
  },
];

describe.each(ISOLATIONS)("static refusals at load (%s isolation)", (isolation) => {
  let rig: Rig;
  beforeAll(async () => {
    const mods: Record<string, ReturnType<typeof badMod>> = {
      counter: counterMod("counter") as ReturnType<typeof badMod>,
      "top-level-throw": badMod("top-level-throw", `throw new Error("refusing to load");`),
    };
    for (const c of CASES) mods[c.name] = badMod(c.name, c.line, c.extra);
    rig = await startRig(mods, { isolation });
  });
  afterAll(() => rig?.close());

  it.each(CASES)("refuses $name at load with $code, the file and the line", (c) => {
    const m = info(rig.host, c.name);
    expect(m.status).toBe("faulted");
    expect(m.error).toMatchObject({ code: c.code, mod: c.name, file: c.file ?? "main.ts", line: c.lineNo ?? 3 });
    if (c.rule) expect(m.error?.message).toMatch(c.rule);
  });

  it("puts no host path in any refusal (but the mod's own import specifiers)", () => {
    for (const m of rig.host.mods()) {
      if (m.name === "import-absolute" || m.name === "import-file-url" || m.error === undefined) continue;
      for (const pattern of HOST_TEXT) expect(`${m.name}: ${m.error.message}`).not.toMatch(pattern);
    }
  });

  // Invariant 6: the isolate's stack of a top-level throw is mapped back to the .ts line.
  it("reports a throw in a mod's top-level code with the file and line", () => {
    const m = info(rig.host, "top-level-throw");
    expect(m.status).toBe("faulted");
    expect(m.error).toMatchObject({ code: "E_MOD_LOAD_THREW", file: "main.ts", line: 3 });
  });

  it("runs none of a refused mod's code and lets the other mods load and serve", async () => {
    const results = await rig.host.emit("ping");
    expect(results).toEqual([]); // only refused mods handle "ping": none of them got a sandbox
    expect(await value(rig.host, "counter", "inc")).toBe(1);
    expect(info(rig.host, "counter").status).toBe("running");
    // The refused mods never ran, so they raised no fault; the one whose top-level code threw is a
    // fault of create() (kept and replayed to fault listeners: issue 13).
    expect(rig.faults.map((f) => [f.mod, f.code])).toEqual([["top-level-throw", "E_MOD_LOAD_THREW"]]);
  });
});

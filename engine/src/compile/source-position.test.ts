import { Script } from "node:vm";
import type IvmTypes from "isolated-vm";
import { describe, expect, it } from "vitest";
import type { CompiledModule } from "./compiled-module.js";
import { compileMod } from "./compile-mod.js";
import { mapStackTrace, originalPosition } from "./source-position.js";
import { loadIsolatedVm } from "../sandbox/ivm.js";

const ivm = loadIsolatedVm();

// Type annotations and an interface shift columns and lines between the .ts and the JS.
const UTIL = `interface Options {
  readonly factor: number;
}

export function scale(value: number, options: Options): number {
  const limit: number = 10;
  if (value > limit) {
    throw new RangeError(\`too big: \${value}\`);
  }
  return value * options.factor;
}
`;

const MAIN = `import { scale } from "./lib/util.js";

type Input = { readonly values: readonly number[] };

export function run(input: Input): number[] {
  return input.values.map((v: number) => scale(v, { factor: 2 }));
}

run({ values: [1, 20] });
`;

async function compileSample(): Promise<Map<string, CompiledModule>> {
  const result = await compileMod({ modName: "m", entry: "main.ts", files: new Map([["main.ts", MAIN], ["lib/util.ts", UTIL]]) });
  expect(result.diagnostics).toEqual([]);
  return new Map(result.modules.map((m) => [m.path, m]));
}

describe("source map", () => {
  it("maps a runtime error position back to the .ts line", async () => {
    const modules = await compileSample();
    const util = modules.get("lib/util.ts");
    if (util === undefined) throw new Error("lib/util.ts was not compiled");
    // Run the compiled function as a plain script (minus `export`) under the module's name.
    const script = new Script(`${util.js.replace("export function", "function")}\nscale(20, { factor: 2 });`, { filename: util.path });
    let stack = "";
    try {
      script.runInNewContext({});
    } catch (error) {
      stack = String((error as Error).stack);
    }
    const frame = /lib\/util\.ts:(\d+):(\d+)/.exec(stack);
    expect(frame).not.toBeNull();
    const position = originalPosition(util, Number(frame?.[1]), Number(frame?.[2]) - 1);
    // V8 points at `new RangeError(...)`, where the error was created: column 10 of the .ts line.
    expect(position).toEqual({ file: "lib/util.ts", line: 8, column: 10 });
  });

  it("maps every line of the JS to its .ts line", async () => {
    const util = (await compileSample()).get("lib/util.ts");
    if (util === undefined) throw new Error("lib/util.ts was not compiled");
    const jsLines = util.js.split("\n");
    const returnLine = jsLines.findIndex((l) => l.includes("return value * options.factor")) + 1;
    expect(originalPosition(util, returnLine, 4)).toEqual({ file: "lib/util.ts", line: 10, column: 2 });
    expect(originalPosition(util, returnLine, 100)?.line).toBe(10);
    expect(originalPosition(util, 999, 0)).toBeUndefined();
  });
});

describe("stack trace", () => {
  it("rewrites frames thrown in an isolate to .ts positions and drops engine frames", async () => {
    const modules = await compileSample();
    const isolate = new ivm.Isolate({ memoryLimit: 16 });
    let stack = "";
    try {
      const context = await isolate.createContext();
      const compiled = new Map<string, IvmTypes.Module>();
      for (const m of modules.values()) compiled.set(m.path, await isolate.compileModule(m.js, { filename: m.path }));
      const main = compiled.get("main.ts");
      if (main === undefined) throw new Error("main.ts was not compiled");
      await main.instantiate(context, (specifier, referrer) => {
        const target = [...compiled].find(([, m]) => m === referrer)?.[0] ?? "";
        const found = modules.get(target)?.imports.find((i) => i.specifier === specifier)?.resolved;
        const linked = found?.kind === "mod" ? compiled.get(found.path) : undefined;
        if (linked === undefined) throw new Error(`cannot link ${specifier}`);
        return linked;
      });
      await main.evaluate();
    } catch (error) {
      stack = String((error as Error).stack);
    } finally {
      isolate.dispose();
    }
    expect(stack).toContain("RangeError: too big: 20");

    const mapped = mapStackTrace(stack, (file) => modules.get(file));
    expect(mapped.top).toEqual({ file: "lib/util.ts", line: 8, column: 10 });
    const lines = mapped.stack.split("\n");
    expect(lines[0]).toBe("RangeError: too big: 20");
    expect(lines[1]).toBe("    at scale (lib/util.ts:8:11)");
    expect(lines.slice(2).every((l) => /^ {4}at .*main\.ts:(6|9):\d+\)?$/.test(l))).toBe(true);
    expect(mapped.stack).not.toContain("isolated-vm");
    expect(mapped.stack).not.toContain("source-position");
  });

  it("keeps the message, drops unknown frames and reports no top when nothing maps", () => {
    const stack = "Error: boom\n  second line\n    at native (node:internal/x:1:2)\n    at <anonymous>\n    at (<isolated-vm boundary>)";
    expect(mapStackTrace(stack, () => undefined)).toEqual({ stack: "Error: boom\n  second line" });
  });

  it("maps bare frames and names with spaces", async () => {
    const modules = await compileSample();
    const util = modules.get("lib/util.ts");
    if (util === undefined) throw new Error("lib/util.ts was not compiled");
    const throwLine = util.js.split("\n").findIndex((l) => l.includes("throw")) + 1;
    const stack = `Error: x\n    at new Thing (lib/util.ts:${throwLine}:9)\n    at lib/util.ts:${throwLine}:9`;
    expect(mapStackTrace(stack, (f) => modules.get(f)).stack).toBe("Error: x\n    at new Thing (lib/util.ts:8:5)\n    at lib/util.ts:8:5");
  });
});

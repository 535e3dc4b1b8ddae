import { describe, expect, it } from "vitest";
import { checkSafety } from "./safety-rules.js";

/** The rule ids found in `code`, in source order. */
function rules(code: string): string[] {
  return checkSafety("main.ts", code).map((d) => /\[([a-z-]+)\]$/.exec(d.message)?.[1] ?? d.message);
}

describe("safety", () => {
  it("reports a finding as E_UNSAFE_CODE with file, line, column and rule", () => {
    expect(checkSafety("lib/x.ts", "const a = 1;\nexport const b = eval('a');\n")).toEqual([
      { code: "E_UNSAFE_CODE", severity: "error", message: "eval is not available in mods [no-eval]", file: "lib/x.ts", line: 2, column: 17 },
    ]);
  });

  it("refuses eval however it is reached", () => {
    expect(rules("eval('1')")).toEqual(["no-eval"]);
    expect(rules("const e = eval; e('1')")).toEqual(["no-eval"]);
    expect(rules("(0, eval)('1')")).toEqual(["no-eval"]);
    expect(rules("globalThis.eval('1')")).toEqual(["no-eval"]);
    expect(rules("window['eval']('1')")).toEqual(["no-eval"]);
    expect(rules("const { eval: e } = globalThis;")).toEqual(["no-eval"]);
    expect(rules("const o = { eval };")).toEqual(["no-eval"]);
    expect(rules("\\u0065val('1')")).toEqual(["no-eval"]);
  });

  it("refuses new Function and Function()", () => {
    expect(rules("new Function('return 1')")).toEqual(["no-function-constructor"]);
    expect(rules("Function('return 1')()")).toEqual(["no-function-constructor"]);
    expect(rules("const F = Function;")).toEqual(["no-function-constructor"]);
    expect(rules("class F extends Function {}")).toEqual(["no-function-constructor"]);
    expect(rules("self.Function('x')")).toEqual(["no-function-constructor"]);
    expect(rules("Reflect.construct(Function, ['x'])")).toEqual(["no-function-constructor"]);
  });

  it("refuses (()=>{}).constructor('code')", () => {
    expect(rules("(() => {}).constructor('code')")).toEqual(["no-constructor-call"]);
    expect(rules("(async () => {}).constructor('code')()")).toEqual(["no-constructor-call"]);
    expect(rules("x.constructor.constructor('code')()")).toEqual(["no-constructor-call"]);
    expect(rules("const F = x.constructor.constructor;")).toEqual(["no-constructor-call"]);
    expect(rules("obj['constructor']('code')")).toEqual(["no-constructor-call"]);
    expect(rules("new (f.constructor as any)('code')")).toEqual(["no-constructor-call"]);
    expect(rules("f.constructor.call(null, 'code')")).toEqual(["no-constructor-call"]);
    expect(rules("Reflect.construct(f.constructor, ['code'])")).toEqual(["no-constructor-call"]);
    expect(rules("f.constructor`code`")).toEqual(["no-constructor-call"]);
    expect(rules("const { constructor: C } = () => {}; C('code');")).toEqual(["no-constructor-call"]);
  });

  it("refuses dynamic import, import.meta, with and require", () => {
    expect(rules("const m = await import('./x.js');")).toEqual(["no-dynamic-import"]);
    expect(rules("const u = import.meta.url;")).toEqual(["no-import-meta"]);
    expect(rules("with (obj) { x = 1; }")).toEqual(["no-with"]);
    expect(rules("const fs = require('fs');")).toEqual(["no-require"]);
    expect(rules("import fs = require('fs');")).toEqual(["no-require"]);
  });

  it("refuses computed access on the global object", () => {
    expect(rules("const k = 'ev' + 'al'; globalThis[k]('1');")).toEqual(["no-global-computed"]);
    expect(rules("globalThis.window[name]")).toEqual(["no-global-computed"]);
    expect(rules("(globalThis as any)[`x${1}`]")).toEqual(["no-global-computed"]);
  });

  it("refuses globals the sandbox does not have, naming them", () => {
    const found = checkSafety("main.ts", "setTimeout(() => {}, 10);\nprocess.exit(1);\nglobalThis.Buffer;");
    expect(found.map((d) => d.message)).toEqual([
      "setTimeout does not exist in the mod sandbox [sandbox-global]",
      "process does not exist in the mod sandbox [sandbox-global]",
      "Buffer does not exist in the mod sandbox [sandbox-global]",
    ]);
    expect(rules("const w = new WeakRef({}); const s = new SharedArrayBuffer(8); queueMicrotask(f);")).toEqual([
      "sandbox-global",
      "sandbox-global",
      "sandbox-global",
    ]);
    expect(rules("export const m = module;")).toEqual(["sandbox-global"]);
  });

  it("allows ordinary code", () => {
    const ordinary = `
      import { defineMod } from "@modhost/sdk";
      import type { Thing } from "../analysis/thing.js";
      interface Handler extends Function { eval(): void }
      type Ctor = Function;
      type E = typeof eval;
      const self = this;
      const process = (x: number) => x;
      class A implements Handler { eval() {} }
      class B { static make() { return new (this as any)(); } }
      export default defineMod({
        init: () => ({ hits: {} as Record<string, number>, at: Date.now(), r: Math.random() }),
        on: {
          hit(state: { n: number }, e: { player: string; eval: number }, ctx: { eval: () => void }) {
            ctx.eval();
            const o = { eval: 1, Function: 2, constructor: 3, setTimeout: 4 };
            const same = e.constructor === Object && o.constructor.name === "Object";
            const n = globalThis.Math.max(1, 2) + (globalThis as any).foo + globalThis["Math"].min(1, 2);
            self[state.n];
            process(1);
            const fn: Function = () => {};
            const p = typeof setTimeout === "function";
            label: for (;;) { break label; }
            return [same, n, o, fn, p, typeof require];
          },
        },
      });
    `;
    expect(checkSafety("main.ts", ordinary)).toEqual([]);
  });

  it("allows a local that shadows a sandbox global", () => {
    expect(rules("function setTimeout(f: () => void) { f(); }\nsetTimeout(() => {});")).toEqual([]);
    expect(rules("const require = (s: string) => s;\nrequire('x');")).toEqual([]);
    expect(rules("function f({ Buffer }: { Buffer: number }) { return Buffer; }")).toEqual([]);
  });
});

import ts from "typescript";
import { describe, expect, it } from "vitest";
import { FingerprintBuilder } from "./ast-fingerprint.js";

/** The fingerprint of every statement of `code`, as one string. */
function print(code: string): string {
  const file = ts.createSourceFile("t.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  return new FingerprintBuilder(ts).addList(file.statements).finish().text;
}

function references(code: string): string[] {
  const file = ts.createSourceFile("t.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  return [...new FingerprintBuilder(ts).addList(file.statements).finish().references].sort();
}

describe("FingerprintBuilder", () => {
  it.each([
    ["whitespace and newlines", "const a = f(1, 2);", "const   a=\n  f( 1,\n 2 )"],
    ["comments", "const a = 1; // one\n/* two */", "/** doc */ const a = /* inline */ 1;"],
    ["semicolons (ASI)", "let a = 1\nlet b = 2\n", "let a = 1; let b = 2;"],
    ["trailing commas", "f(a, b); const o = { a: 1, b: [1, 2] };", "f(a, b,); const o = { a: 1, b: [1, 2,], };"],
    ["quote style", `const s = "it's";`, `const s = 'it\\'s';`],
    ["string escapes", `const s = "A\\n";`, `const s = "\\x41\\u000a";`],
    ["a template without substitutions", `const s = "a";`, "const s = `a`;"],
    ["number spelling", "const n = 16, m = 1000, f = 1.5;", "const n = 0x10, m = 1_000, f = 1.50;"],
    ["bigint spelling", "const n = 16n;", "const n = 0x10n;"],
    ["redundant parentheses", "const x = a + b * c; f(g)(h);", "const x = (a + (b * c)); ((f)(g))(h);"],
    ["parenthesized types", "type T = A | B[];", "type T = (A | (B)[]);"],
    ["quoted property names", "const o = { a: 1, 2: 3 }; interface I { b: string }", `const o = { "a": 1, '2': 3 }; interface I { 'b': string }`],
    ["element access with a literal", "o.a.b;", `o["a"]['b'];`],
    ["shorthand properties", "const o = { a, b: 1 };", "const o = { a: a, b: 1 };"],
    ["shorthand destructuring", "const { a, b: c } = o;", "const { a: a, b: c } = o;"],
    ["new without arguments", "const d = new Date;", "const d = new Date();"],
    ["arrow parameter parentheses", "const f = x => x;", "const f = (x) => x;"],
    ["the order of properties in a type", "type T = { a: A; b?: B }; interface I { x: X; y: Y }", "type T = { b?: B; a: A }; interface I { y: Y; x: X }"],
    ["the order of a union's members", `type T = "a" | "b" | C;`, `type T = C | "b" | "a";`],
    ["optional element access", "o?.a;", `o?.["a"];`],
  ])("treats %s as no change", (_what, a, b) => {
    expect(print(a)).toBe(print(b));
  });

  it.each([
    ["let and const", "let a = 1;", "const a = 1;"],
    ["string contents", `const s = "a";`, `const s = "b";`],
    ["a string and a number", `const s = "1";`, "const s = 1;"],
    ["precedence written with parentheses", "const x = a + b * c;", "const x = (a + b) * c;"],
    ["an optional chain cut by parentheses", "a?.b.c;", "(a?.b).c;"],
    ["the slots of a for loop", "for (; x; ) {}", "for (x; ; ) {}"],
    ["the other slots of a for loop", "for (; ; x) {}", "for (; x; ) {}"],
    ["a renaming and a default in destructuring", "const { a: b } = o;", "const { a = b } = o;"],
    ["a constraint and a default of a type parameter", "type T<X extends Y> = X;", "type T<X = Y> = X;"],
    ["prefix operators", "const x = -a;", "const x = +a;"],
    ["prefix and postfix", "++a;", "a++;"],
    ["keyof and readonly", "type T = keyof A;", "type T = readonly A[];"],
    ["import type and import", `import type { A } from "./a.js";`, `import { A } from "./a.js";`],
    ["raw text under a tag", "String.raw`\\n`;", "String.raw`\\\\n`;"],
    ["regular expression flags", "const r = /a/g;", "const r = /a/i;"],
    ["computed and plain keys", `const o = { ["__proto__"]: 1 };`, `const o = { __proto__: 1 };`],
    ["export default and export =", "export default x;", "export = x;"],
    ["extends and implements", "class A extends B {}", "class A implements B {}"],
    ["a spread and a plain argument", "f(...a);", "f(a);"],
    ["async and plain functions", "async function f() {}", "function f() {}"],
    ["optional and required properties", "interface I { a?: string }", "interface I { a: string }"],
    ["the order of overloads", "interface I { f(a: string): 1; f(a: number): 2 }", "interface I { f(a: number): 2; f(a: string): 1 }"],
    ["the order of an intersection's members", "type T = A & B;", "type T = B & A;"],
    ["the order of object literal properties", "const o = { a: 1, b: 2 };", "const o = { b: 2, a: 1 };"],
    ["the order of enum members", "enum E { A, B }", "enum E { B, A }"],
  ])("tells apart %s", (_what, a, b) => {
    expect(print(a)).not.toBe(print(b));
  });

  it("collects the names a declaration may refer to, not its property or declared names", () => {
    expect(references("type State = { items: Item[]; mode: Modes.Fast; start: typeof START; t: import('./t.js').T.U };")).toEqual(
      ["Item", "Modes", "Modes.Fast", "START", 'import("./t.js").T'],
    );
    expect(references("function f(a: A) { return a.b + helper(c); }")).toEqual(["A", "a", "a.b", "c", "helper"]);
  });
});

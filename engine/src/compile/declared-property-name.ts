import type ts from "typescript";
import type { TypeScript } from "./load-typescript.js";

/**
 * Is `node` the name a property-like declaration declares: `a` of `{ a: 1 }`, `a() {}`,
 * `a: T` in a class, interface or type literal, `get a()`, `set a(v)`, an enum member? Such a
 * name refers to no binding (the safety rules) and `a`, `"a"` and `'a'` there name the same
 * property (the fingerprints). Needs a tree parsed with parent pointers.
 */
export function isDeclaredPropertyName(ts: TypeScript, node: ts.Node): boolean {
  const parent = node.parent as ts.Node | undefined;
  if (parent === undefined) return false;
  if (
    ts.isPropertyAssignment(parent) ||
    ts.isMethodDeclaration(parent) ||
    ts.isPropertyDeclaration(parent) ||
    ts.isPropertySignature(parent) ||
    ts.isMethodSignature(parent) ||
    ts.isGetAccessorDeclaration(parent) ||
    ts.isSetAccessorDeclaration(parent) ||
    ts.isEnumMember(parent)
  ) {
    return parent.name === node;
  }
  return false;
}

import type ts from "typescript";
import type { TypeScript } from "../compile/load-typescript.js";

// Questions about a syntax tree parsed with parent pointers, asked by the fingerprint builder and
// the file indexer. Each takes the TypeScript module it was parsed with (loaded lazily).

/** The expression under any parentheses. */
export function unparenthesize(ts: TypeScript, node: ts.Expression): ts.Expression {
  let current = node;
  while (ts.isParenthesizedExpression(current)) current = current.expression;
  return current;
}

/** Parentheses and type-only wrappers (`as`, `satisfies`, `!`, `<T>x`) removed. */
export function unwrap(ts: TypeScript, node: ts.Expression): ts.Expression {
  let current = node;
  for (;;) {
    if (
      ts.isParenthesizedExpression(current) ||
      ts.isAsExpression(current) ||
      ts.isSatisfiesExpression(current) ||
      ts.isNonNullExpression(current) ||
      ts.isTypeAssertionExpression(current)
    ) {
      current = current.expression;
    } else {
      return current;
    }
  }
}

/** The keyword of a variable declaration list: `const`, `let`, `var`, `using`, `await using`. */
export function declarationKeyword(ts: TypeScript, list: ts.VariableDeclarationList): string {
  const flags = list.flags;
  if ((flags & ts.NodeFlags.AwaitUsing) === ts.NodeFlags.AwaitUsing) return "await using";
  if (flags & ts.NodeFlags.Using) return "using";
  if (flags & ts.NodeFlags.Const) return "const";
  if (flags & ts.NodeFlags.Let) return "let";
  return "var";
}

/** Every identifier a binding name binds: `a`, `{ a, b: [c] }`... */
export function boundNames(ts: TypeScript, name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  const names: string[] = [];
  for (const element of name.elements) {
    if (ts.isBindingElement(element)) names.push(...boundNames(ts, element.name));
  }
  return names;
}

/** The first identifier of a qualified name: `a` of `a.b.c`. */
export function leftmost(ts: TypeScript, name: ts.EntityName): ts.Identifier {
  let current = name;
  while (ts.isQualifiedName(current)) current = current.left;
  return current;
}

/** Could this identifier name a declaration elsewhere (rather than declare one, or name a member)? */
export function isReference(ts: TypeScript, node: ts.Identifier): boolean {
  const parent = node.parent as ts.Node | undefined;
  if (parent === undefined) return true;
  if (ts.isShorthandPropertyAssignment(parent)) return true;
  if ("name" in parent && parent.name === node) return false;
  if ("propertyName" in parent && parent.propertyName === node) return false;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return parent.label !== node;
  return true;
}

/** Is a template head/middle/tail part of a tagged template (whose tag sees the raw text)? */
export function isTagged(ts: TypeScript, node: ts.Node): boolean {
  let template: ts.Node | undefined = node.parent;
  if (template !== undefined && ts.isTemplateSpan(template)) template = template.parent;
  return template !== undefined && ts.isTemplateExpression(template) && ts.isTaggedTemplateExpression(template.parent);
}

/**
 * Lists whose order carries no meaning, with the test for the items that may move: the
 * property signatures of a type literal or interface (`{ a: A; b: B }` is `{ b: B; a: A }`;
 * call signatures and method overloads stay in place, their order decides overload
 * resolution) and the members of a union type (`A | B` is `B | A`). Undefined for any other list.
 */
export function movableItems(ts: TypeScript, nodes: readonly ts.Node[]): ((node: ts.Node) => boolean) | undefined {
  const parent = nodes[0]?.parent;
  if (parent === undefined) return undefined;
  if ((ts.isTypeLiteralNode(parent) || ts.isInterfaceDeclaration(parent)) && parent.members === nodes) return (node) => ts.isPropertySignature(node);
  if (ts.isUnionTypeNode(parent) && parent.types === nodes) return () => true;
  return undefined;
}

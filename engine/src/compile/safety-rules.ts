import type ts from "typescript";
import { DepthGuard } from "./source-limits.js";
import { isDeclaredPropertyName } from "./declared-property-name.js";
import type { Diagnostic } from "../errors/diagnostic.js";
import { loadTypeScriptSync, type TypeScript } from "./load-typescript.js";

/**
 * The stable ids of the static safety rules; each diagnostic's message ends with `[id]`.
 * The sandbox blocks the same things at run time (code generation from strings is disabled in
 * isolates, the globals do not exist): these rules are the layer that explains the refusal
 * before the code runs, with a file, line and column.
 */
export const SAFETY_RULES = {
  /** Any use or declaration of `eval`. */
  "no-eval": "eval is not available in mods",
  /** The global `Function` as a value: `new Function(...)`, `Function(...)`, `extends Function`. */
  "no-function-constructor": "the Function constructor is not available in mods (code generation from strings is disabled)",
  /** `.constructor` called, constructed, chained, applied or destructured: how code reaches `Function` without naming it. */
  "no-constructor-call": "calling .constructor is not allowed in mods: it can reach the Function constructor",
  /** `import(...)`. */
  "no-dynamic-import": "dynamic import() is not available in mods: use a static import",
  /** `import.meta`. */
  "no-import-meta": "import.meta is not available in mods",
  /** `with (...) {}`. */
  "no-with": "with statements are not allowed in mods",
  /** `require(...)` and `import x = require(...)`. */
  "no-require": "require() is not available in mods: use a static import",
  /** `globalThis[expr]` (or `global`, `self`, `window`) with a name that is not a literal. */
  "no-global-computed": "globalThis[...] with a computed name is not allowed in mods: it can reach eval or Function",
  /** A Node or browser global the sandbox does not have (timers, process, Buffer...). */
  "sandbox-global": "does not exist in the mod sandbox",
} as const;

/** The id of a safety rule. */
export type SafetyRuleId = keyof typeof SAFETY_RULES;

// Globals mods might expect that the sandbox leaves out: no timers (handlers are synchronous and
// time is logical), no shared memory or GC observers (nondeterminism), nothing from Node.
const SANDBOX_GLOBALS: ReadonlySet<string> = new Set([
  "setTimeout",
  "setInterval",
  "setImmediate",
  "queueMicrotask",
  "WebAssembly",
  "SharedArrayBuffer",
  "Atomics",
  "FinalizationRegistry",
  "WeakRef",
  "process",
  "require",
  "module",
  "Buffer",
]);

// Names of the global object: through them any global is one property access away.
const GLOBAL_OBJECTS: ReadonlySet<string> = new Set(["globalThis", "global", "self", "window"]);

// Member names that run a function value they are read from: `x.constructor.call(null, "code")`.
const INVOKERS: ReadonlySet<string> = new Set(["call", "apply", "bind"]);

/**
 * Applies the safety rules to one mod file and returns an `E_UNSAFE_CODE` error per finding.
 * Pass `sourceFile` (parsed with parent pointers, as `compileMod` does) to reuse an AST; without
 * it the file is parsed here. Rules aim at few false positives for ordinary code: `obj.eval`,
 * `globalThis.foo`, `x.constructor === Foo` and a local named `process` are all allowed.
 */
export function checkSafety(path: string, sourceText: string, sourceFile?: ts.SourceFile): Diagnostic[] {
  const typescript = loadTypeScriptSync();
  let file = sourceFile;
  // Without parent pointers the rules cannot see how a node is used: parse again with them.
  if (file === undefined || (file.statements.length > 0 && file.statements[0]?.parent === undefined)) {
    file = typescript.createSourceFile(path, sourceText, typescript.ScriptTarget.ES2022, true, typescript.ScriptKind.TS);
  }
  return new SafetyChecker(typescript, path, file).run();
}

class SafetyChecker {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly declared: ReadonlySet<string>;

  constructor(
    private readonly ts: TypeScript,
    private readonly path: string,
    private readonly file: ts.SourceFile,
  ) {
    this.declared = declaredNames(ts, file);
  }

  run(): Diagnostic[] {
    const guard = new DepthGuard();
    const visit = (node: ts.Node): void => {
      if (this.isTypeOnly(node)) return;
      this.check(node);
      guard.descend(node, (n) => this.ts.forEachChild(n, visit));
    };
    this.ts.forEachChild(this.file, visit);
    return this.diagnostics;
  }

  private check(node: ts.Node): void {
    const ts = this.ts;
    if (ts.isIdentifier(node)) {
      this.checkIdentifier(node);
    } else if (ts.isPropertyAccessExpression(node)) {
      if (this.isGlobalObject(node.expression)) this.checkGlobalMember(node.name, node.name.text);
      if (node.name.text === "constructor") this.checkConstructorAccess(node, node.name);
    } else if (ts.isElementAccessExpression(node)) {
      const key = literalText(ts, node.argumentExpression);
      if (this.isGlobalObject(node.expression)) {
        if (key === undefined) this.report(node.argumentExpression, "no-global-computed");
        else this.checkGlobalMember(node.argumentExpression, key);
      }
      if (key === "constructor") this.checkConstructorAccess(node, node.argumentExpression);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      this.report(node, "no-dynamic-import");
    } else if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      this.report(node, "no-import-meta");
    } else if (ts.isWithStatement(node)) {
      this.report(node, "no-with");
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      this.report(node.moduleReference, "no-require");
    }
  }

  private checkIdentifier(node: ts.Identifier): void {
    const name = node.text;
    const parent = node.parent;
    if (name === "eval" || name === "Function") {
      // `const { eval: e } = globalThis` reads the global as surely as a reference does.
      const destructured = this.ts.isBindingElement(parent) && parent.propertyName === node;
      if (destructured || !this.isMemberName(node)) this.report(node, name === "eval" ? "no-eval" : "no-function-constructor");
      return;
    }
    if (name === "constructor") {
      // `const { constructor: C } = () => {}` reads it without a `.constructor` for the rule below.
      if (this.ts.isBindingElement(parent) && parent.propertyName === node) this.report(node, "no-constructor-call");
      return;
    }
    if (!SANDBOX_GLOBALS.has(name) || this.declared.has(name) || this.isMemberName(node)) return;
    // `typeof process` is how portable code probes for a global; it cannot reach anything.
    if (this.ts.isTypeOfExpression(parent)) return;
    if (name === "require" && this.ts.isCallExpression(parent) && parent.expression === node) {
      this.report(node, "no-require");
    } else {
      this.report(node, "sandbox-global", name);
    }
  }

  /** `globalThis.<name>` / `globalThis["<name>"]`. */
  private checkGlobalMember(at: ts.Node, name: string): void {
    if (name === "eval") this.report(at, "no-eval");
    else if (name === "Function") this.report(at, "no-function-constructor");
    else if (SANDBOX_GLOBALS.has(name)) this.report(at, "sandbox-global", name);
  }

  /** Reports `x.constructor` when what is done with it can run the constructor it names. */
  private checkConstructorAccess(access: ts.PropertyAccessExpression | ts.ElementAccessExpression, at: ts.Node): void {
    const ts = this.ts;
    const use = this.outermost(access);
    const parent = use.parent;
    // `x.constructor.constructor`: report the outer access only, once, whatever follows it.
    if (this.isConstructorAccess(parent) && parent.expression === use) return;
    const receiver = this.innermost(access.expression);
    const dangerous =
      this.isConstructorAccess(receiver) ||
      ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression === use) ||
      (ts.isTaggedTemplateExpression(parent) && parent.tag === use) ||
      (ts.isPropertyAccessExpression(parent) && parent.expression === use && INVOKERS.has(parent.name.text)) ||
      (ts.isExpressionWithTypeArguments(parent) && ts.isHeritageClause(parent.parent)) ||
      (ts.isCallExpression(parent) && parent.arguments[0] === use && this.isReflectInvoke(parent.expression));
    if (dangerous) this.report(at, "no-constructor-call");
  }

  private isConstructorAccess(node: ts.Node): node is ts.PropertyAccessExpression | ts.ElementAccessExpression {
    const ts = this.ts;
    if (ts.isPropertyAccessExpression(node)) return node.name.text === "constructor";
    if (ts.isElementAccessExpression(node)) return literalText(ts, node.argumentExpression) === "constructor";
    return false;
  }

  /** `Reflect.construct(...)` / `Reflect.apply(...)`. */
  private isReflectInvoke(callee: ts.Expression): boolean {
    const ts = this.ts;
    const inner = this.innermost(callee);
    return (
      ts.isPropertyAccessExpression(inner) &&
      ts.isIdentifier(inner.expression) &&
      inner.expression.text === "Reflect" &&
      (inner.name.text === "construct" || inner.name.text === "apply")
    );
  }

  /** Is `node` (parens and type assertions aside) the global object, not shadowed in the file? */
  private isGlobalObject(node: ts.Expression): boolean {
    const ts = this.ts;
    const inner = this.innermost(node);
    if (ts.isIdentifier(inner)) return GLOBAL_OBJECTS.has(inner.text) && !this.declared.has(inner.text);
    // `globalThis.window`, `self.globalThis`...: still the global object.
    return ts.isPropertyAccessExpression(inner) && GLOBAL_OBJECTS.has(inner.name.text) && this.isGlobalObject(inner.expression);
  }

  /** Is the identifier a property or label name rather than a reference to a binding? */
  private isMemberName(node: ts.Identifier): boolean {
    const ts = this.ts;
    const parent = node.parent;
    if (ts.isPropertyAccessExpression(parent)) return parent.name === node;
    if (ts.isQualifiedName(parent)) return parent.right === node;
    if (isDeclaredPropertyName(ts, node)) return true;
    if (ts.isBindingElement(parent) || ts.isImportSpecifier(parent)) return parent.propertyName === node;
    // `export { local as process }`: the exported name is not a reference.
    if (ts.isExportSpecifier(parent)) return parent.propertyName === node || parent.propertyName !== undefined;
    if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return parent.label === node;
    return ts.isMetaProperty(parent);
  }

  /** Nodes erased by the transpiler: nothing in them runs. */
  private isTypeOnly(node: ts.Node): boolean {
    const ts = this.ts;
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return true;
    if (ts.isExpressionWithTypeArguments(node)) {
      // `class A extends B` evaluates B; `implements` and instantiation expressions' types do not.
      const clause = node.parent;
      return ts.isHeritageClause(clause) && clause.token === ts.SyntaxKind.ImplementsKeyword;
    }
    return ts.isTypeNode(node);
  }

  /** Walks up through parentheses, type assertions and `(0, x)`: how code disguises a use. */
  private outermost(node: ts.Expression): ts.Expression {
    const ts = this.ts;
    let current: ts.Expression = node;
    for (;;) {
      const parent = current.parent;
      const wraps =
        ts.isParenthesizedExpression(parent) ||
        ts.isAsExpression(parent) ||
        ts.isSatisfiesExpression(parent) ||
        ts.isNonNullExpression(parent) ||
        ts.isTypeAssertionExpression(parent) ||
        (ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.CommaToken && parent.right === current);
      if (!wraps) return current;
      current = parent;
    }
  }

  /** The opposite of `outermost`: the expression under parentheses and type assertions. */
  private innermost(node: ts.Expression): ts.Expression {
    const ts = this.ts;
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
      } else if (ts.isBinaryExpression(current) && current.operatorToken.kind === ts.SyntaxKind.CommaToken) {
        current = current.right;
      } else {
        return current;
      }
    }
  }

  private report(node: ts.Node, rule: SafetyRuleId, name?: string): void {
    const { line, character } = this.file.getLineAndCharacterOfPosition(node.getStart(this.file));
    const text = name === undefined ? SAFETY_RULES[rule] : `${name} ${SAFETY_RULES[rule]}`;
    this.diagnostics.push({
      code: "E_UNSAFE_CODE",
      severity: "error",
      message: `${text} [${rule}]`,
      file: this.path,
      line: line + 1,
      column: character,
    });
  }
}

/** The text of a string literal or a template without substitutions; undefined for anything computed. */
function literalText(ts: TypeScript, node: ts.Expression): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isNumericLiteral(node)) return node.text;
  if (ts.isParenthesizedExpression(node)) return literalText(ts, node.expression);
  return undefined;
}

/**
 * Every value name the file declares, in any scope. Deliberately coarse: a local called
 * `process` anywhere exempts every `process` in the file, which costs a missed finding in odd
 * code (the runtime still has no such global) instead of false alarms in ordinary code.
 */
function declaredNames(ts: TypeScript, file: ts.SourceFile): ReadonlySet<string> {
  const names = new Set<string>();
  const guard = new DepthGuard();
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) ||
      ts.isParameter(node) ||
      ts.isBindingElement(node) ||
      ts.isFunctionDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isClassDeclaration(node) ||
      ts.isClassExpression(node) ||
      ts.isEnumDeclaration(node) ||
      ts.isModuleDeclaration(node) ||
      ts.isImportClause(node) ||
      ts.isImportSpecifier(node) ||
      ts.isNamespaceImport(node) ||
      ts.isImportEqualsDeclaration(node)
    ) {
      const name = node.name;
      if (name !== undefined && ts.isIdentifier(name)) names.add(name.text);
    }
    guard.descend(node, (n) => ts.forEachChild(n, visit));
  };
  ts.forEachChild(file, visit);
  return names;
}

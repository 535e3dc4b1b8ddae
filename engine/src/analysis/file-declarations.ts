import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type ts from "typescript";
import { DepthGuard } from "../compile/source-limits.js";
import type { TypeScript } from "../compile/load-typescript.js";
import { SDK_SPECIFIER } from "../compile/resolve-mod-specifier.js";
import { FingerprintBuilder, unparenthesize } from "./ast-fingerprint.js";

/** One top-level declaration of a file (or one property of its mod definition), fingerprinted. */
export interface Declaration {
  /**
   * Its path within the file: `function dmg`, `const X`, `type State`, `interface Foo`,
   * `class C`, `enum E`, `namespace N`, `imports`, `exports`, `export default`, `statement #2`,
   * or, for the mod definition's properties, `init`, `migrate`, `on.hit`...
   */
  readonly path: string;
  /** Canonical form of all its parts (overloads, merged interfaces), modifiers included. */
  readonly print: string;
  /** The same without top-level modifiers (`export`, `declare`): what the state shape depends on. */
  readonly shapePrint: string;
  /** Names it uses that may refer to other declarations (see `Fingerprint.references`). */
  readonly references: readonly string[];
}

/** A name bound by an import: the specifier and the imported name (`default`, `*` for a namespace). */
export interface ImportedBinding {
  readonly specifier: string;
  readonly name: string;
}

/** What an exported name stands for: a name of this file or a name re-exported from another module. */
export type ExportedBinding =
  | { readonly kind: "local"; readonly name: string }
  | { readonly kind: "from"; readonly specifier: string; readonly name: string };

/** The mod definition (`export default defineMod<State>({...})`) as found in a file. */
export interface ModDefinition {
  /** Path of the declaration that holds it: `export default`, or `const mod` for `export default mod`. */
  readonly host: string;
  /** The state type argument of `defineMod<State>`, when there is one. */
  readonly stateType?: { readonly print: string; readonly references: readonly string[] };
  /**
   * Paths of its properties (`init`, `migrate`, `on`, `on.hit`...) when the definition is an
   * object literal; undefined when it is built elsewhere (`defineMod(config)`) and cannot be read.
   */
  readonly properties?: ReadonlySet<string>;
  /** Why the default export cannot be a mod definition at all (`defineMod(null)`, `export default 1`). */
  readonly invalid?: string;
}

/** Everything the semantic diff needs from one file; depends on its text only, so it is cached. */
export interface FileDeclarations {
  /** By path, in source order. */
  readonly declarations: ReadonlyMap<string, Declaration>;
  /** Top-level names (values and types alike) -> paths of the declarations that declare them. */
  readonly names: ReadonlyMap<string, readonly string[]>;
  /** Local name -> where an import got it. */
  readonly imports: ReadonlyMap<string, ImportedBinding>;
  /** Exported name -> what it stands for. */
  readonly exports: ReadonlyMap<string, ExportedBinding>;
  /** Specifiers of `export * from "..."`. */
  readonly starExports: readonly string[];
  /** Paths of the declarations that run code when the module is evaluated, in source order. */
  readonly evaluationOrder: readonly string[];
  readonly modDefinition?: ModDefinition;
}

/** Counters since the process started, for tests and metrics. */
export interface FileDeclarationsStats {
  /** Files actually parsed and fingerprinted. */
  readonly parsed: number;
  /** Files served from the cache. */
  readonly cacheHits: number;
}

const stats = { parsed: 0, cacheHits: 0 };

// A watched mod is re-diffed on every save, mostly with the same files: one parse per distinct
// text. Bounded by source characters (the fingerprints are a small multiple of the text).
const cache = new LRUCache<string, { readonly index: FileDeclarations; readonly size: number }>({
  max: 5_000,
  maxSize: 16 * 1024 * 1024,
  sizeCalculation: (entry) => entry.size,
});

/**
 * Parses one file and fingerprints its declarations, or returns the cached result for the same
 * text (and TypeScript version). Syntax errors are not reported here (the compiler does that):
 * a file that does not parse cleanly is fingerprinted as far as the parser recovered.
 */
export function fileDeclarations(typescript: TypeScript, text: string): FileDeclarations {
  const key = createHash("sha256").update(`${typescript.version}\0${text}`).digest("base64");
  const hit = cache.get(key);
  if (hit !== undefined) {
    stats.cacheHits++;
    return hit.index;
  }
  stats.parsed++;
  const sourceFile = typescript.createSourceFile("mod.ts", text, typescript.ScriptTarget.ES2022, true, typescript.ScriptKind.TS);
  const index = new FileIndexer(typescript, sourceFile).run();
  cache.set(key, { index, size: Math.max(1, text.length * 3) });
  return index;
}

/** How many files were parsed and how many came from the cache. */
export function fileDeclarationsStats(): FileDeclarationsStats {
  return { ...stats };
}

/** The keyword of a variable declaration list: `const`, `let`, `var`, `using`, `await using`. */
function declarationKeyword(ts: TypeScript, list: ts.VariableDeclarationList): string {
  const flags = list.flags;
  if ((flags & ts.NodeFlags.AwaitUsing) === ts.NodeFlags.AwaitUsing) return "await using";
  if (flags & ts.NodeFlags.Using) return "using";
  if (flags & ts.NodeFlags.Const) return "const";
  if (flags & ts.NodeFlags.Let) return "let";
  return "var";
}

/** Every identifier a binding name binds: `a`, `{ a, b: [c] }`... */
function boundNames(ts: TypeScript, name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  const names: string[] = [];
  for (const element of name.elements) {
    if (ts.isBindingElement(element)) names.push(...boundNames(ts, element.name));
  }
  return names;
}

/** Parentheses and type-only wrappers (`as`, `satisfies`, `!`, `<T>x`) removed. */
function unwrap(ts: TypeScript, node: ts.Expression): ts.Expression {
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

interface Pending {
  readonly print: string[];
  readonly shape: string[];
  readonly references: Set<string>;
}

class FileIndexer {
  private readonly pending = new Map<string, Pending>();
  private readonly names = new Map<string, string[]>();
  private readonly imports = new Map<string, ImportedBinding>();
  private readonly exports = new Map<string, ExportedBinding>();
  private readonly starExports: string[] = [];
  private readonly evaluationOrder: string[] = [];
  private readonly importItems = new Set<string>();
  private readonly exportItems = new Set<string>();
  private readonly placeholders = new Map<ts.Node, string>();
  private statements = 0;
  private modDefinition: ModDefinition | undefined;

  constructor(
    private readonly ts: TypeScript,
    private readonly file: ts.SourceFile,
  ) {}

  run(): FileDeclarations {
    const ts = this.ts;
    for (const statement of this.file.statements) {
      if (ts.isImportDeclaration(statement)) this.indexImport(statement);
    }
    this.findModDefinition();
    for (const statement of this.file.statements) this.indexStatement(statement);
    if (this.importItems.size > 0) this.addSet("imports", this.importItems);
    if (this.exportItems.size > 0) this.addSet("exports", this.exportItems);

    const declarations = new Map<string, Declaration>();
    for (const [path, entry] of this.pending) {
      declarations.set(path, {
        path,
        print: entry.print.join(" | "),
        shapePrint: entry.shape.join(" | "),
        references: [...entry.references],
      });
    }
    return {
      declarations,
      names: this.names,
      imports: this.imports,
      exports: this.exports,
      starExports: this.starExports,
      evaluationOrder: this.evaluationOrder,
      ...(this.modDefinition !== undefined ? { modDefinition: this.modDefinition } : {}),
    };
  }

  private builder(): FingerprintBuilder {
    return new FingerprintBuilder(this.ts, this.placeholders);
  }

  private add(path: string, print: string, shape: string, references: Iterable<string>): void {
    let entry = this.pending.get(path);
    if (entry === undefined) {
      entry = { print: [], shape: [], references: new Set() };
      this.pending.set(path, entry);
    }
    entry.print.push(print);
    entry.shape.push(shape);
    for (const reference of references) entry.references.add(reference);
  }

  /** A declaration fingerprinted whole, its modifiers kept apart for `shapePrint`. */
  private addNode(path: string, node: ts.Node, modifiers: readonly ts.Node[] | undefined, marks = ""): void {
    const head = this.builder().mark(marks).addList(modifiers).finish();
    const body = this.builder().addWithoutModifiers(node).finish();
    this.add(path, `${head.text} ${body.text}`, body.text, [...head.references, ...body.references]);
  }

  /** `imports` and `exports`: sets, so the order of declarations and specifiers does not count. */
  private addSet(path: string, items: ReadonlySet<string>): void {
    const text = [...items].sort().join("\n");
    this.add(path, text, text, []);
  }

  private declareName(name: string, path: string): void {
    const paths = this.names.get(name);
    if (paths === undefined) this.names.set(name, [path]);
    else if (!paths.includes(path)) paths.push(path);
  }

  private hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
    const modifiers = this.ts.canHaveModifiers(node) ? node.modifiers : undefined;
    return modifiers?.some((modifier) => modifier.kind === kind) ?? false;
  }

  /** Records `export` / `export default` on a named declaration. */
  private exportDeclared(node: ts.Node, name: string): void {
    const k = this.ts.SyntaxKind;
    if (!this.hasModifier(node, k.ExportKeyword)) return;
    this.exports.set(this.hasModifier(node, k.DefaultKeyword) ? "default" : name, { kind: "local", name });
  }

  /**
   * Import and export declarations are reduced to sets of bindings, which would hide where the
   * parser recovered from an error (`import { a from "x"` reads as `import { a } from "x"`):
   * such a declaration is added whole, so that it differs from the code it resembles.
   */
  private recordParseError(statement: ts.Statement, items: Set<string>): void {
    const ts = this.ts;
    const guard = new DepthGuard();
    const broken = (node: ts.Node): boolean => (node.flags & ts.NodeFlags.ThisNodeHasError) !== 0 || guard.descend(node, (n) => ts.forEachChild(n, broken)) === true;
    if (broken(statement)) items.add(`!error ${this.builder().add(statement).finish().text}`);
  }

  private indexImport(statement: ts.ImportDeclaration): void {
    const ts = this.ts;
    this.recordParseError(statement, this.importItems);
    if (!ts.isStringLiteral(statement.moduleSpecifier)) return;
    const specifier = statement.moduleSpecifier.text;
    const attributes = statement.attributes === undefined ? "" : ` ${this.builder().add(statement.attributes).finish().text}`;
    const clause = statement.importClause;
    const from = `${JSON.stringify(specifier)}${attributes}`;
    if (clause === undefined) {
      this.importItems.add(`import ${from}`);
      return;
    }
    const phase = clause.phaseModifier === undefined ? "" : `${clause.phaseModifier} `;
    const item = (imported: string, local: string, typeOnly: boolean): void => {
      this.imports.set(local, { specifier, name: imported });
      this.importItems.add(`import ${phase}${typeOnly ? "type " : ""}${JSON.stringify(imported)} as ${local} from ${from}`);
    };
    if (clause.name !== undefined) item("default", clause.name.text, clause.isTypeOnly);
    const bindings = clause.namedBindings;
    if (bindings === undefined) return;
    if (ts.isNamespaceImport(bindings)) {
      item("*", bindings.name.text, clause.isTypeOnly);
    } else {
      for (const element of bindings.elements) {
        item((element.propertyName ?? element.name).text, element.name.text, clause.isTypeOnly || element.isTypeOnly);
      }
    }
  }

  private indexExport(statement: ts.ExportDeclaration): void {
    const ts = this.ts;
    this.recordParseError(statement, this.exportItems);
    const specifier = statement.moduleSpecifier !== undefined && ts.isStringLiteral(statement.moduleSpecifier) ? statement.moduleSpecifier.text : undefined;
    const attributes = statement.attributes === undefined ? "" : ` ${this.builder().add(statement.attributes).finish().text}`;
    const from = specifier === undefined ? "" : ` from ${JSON.stringify(specifier)}${attributes}`;
    const typeOnly = statement.isTypeOnly ? "type " : "";
    const clause = statement.exportClause;
    if (clause === undefined) {
      if (specifier !== undefined) this.starExports.push(specifier);
      this.exportItems.add(`export ${typeOnly}*${from}`);
    } else if (ts.isNamespaceExport(clause)) {
      const name = clause.name.text;
      if (specifier !== undefined) this.exports.set(name, { kind: "from", specifier, name: "*" });
      this.exportItems.add(`export ${typeOnly}* as ${JSON.stringify(name)}${from}`);
    } else {
      for (const element of clause.elements) {
        const local = (element.propertyName ?? element.name).text;
        const exported = element.name.text;
        this.exports.set(exported, specifier === undefined ? { kind: "local", name: local } : { kind: "from", specifier, name: local });
        const itemType = typeOnly !== "" || element.isTypeOnly ? "type " : "";
        this.exportItems.add(`export ${itemType}${JSON.stringify(local)} as ${JSON.stringify(exported)}${from}`);
      }
    }
  }

  private indexStatement(statement: ts.Statement): void {
    const ts = this.ts;
    if (ts.isImportDeclaration(statement)) {
      // Import declarations with a non-literal specifier do not parse as such; the rest were indexed first.
      if (ts.isStringLiteral(statement.moduleSpecifier)) return;
    } else if (ts.isExportDeclaration(statement)) {
      this.indexExport(statement);
      return;
    } else if (ts.isExportAssignment(statement)) {
      const path = statement.isExportEquals === true ? "export =" : "export default";
      const expression = unparenthesize(ts, statement.expression);
      if (statement.isExportEquals !== true && ts.isIdentifier(expression)) this.exports.set("default", { kind: "local", name: expression.text });
      this.addNode(path, statement, statement.modifiers);
      this.evaluationOrder.push(path);
      return;
    } else if (ts.isFunctionDeclaration(statement)) {
      // Function declarations are hoisted: where they stand does not change when they exist.
      const name = statement.name?.text;
      this.named(statement, name === undefined ? "export default" : `function ${name}`, name, false);
      return;
    } else if (ts.isClassDeclaration(statement)) {
      const name = statement.name?.text;
      this.named(statement, name === undefined ? "export default" : `class ${name}`, name, true);
      return;
    } else if (ts.isInterfaceDeclaration(statement)) {
      this.named(statement, `interface ${statement.name.text}`, statement.name.text, false);
      return;
    } else if (ts.isTypeAliasDeclaration(statement)) {
      this.named(statement, `type ${statement.name.text}`, statement.name.text, false);
      return;
    } else if (ts.isEnumDeclaration(statement)) {
      this.named(statement, `enum ${statement.name.text}`, statement.name.text, true);
      return;
    } else if (ts.isModuleDeclaration(statement)) {
      const name = statement.name;
      const label = ts.isIdentifier(name) ? (name.text === "global" && (statement.flags & ts.NodeFlags.GlobalAugmentation) !== 0 ? "global" : `namespace ${name.text}`) : `module ${JSON.stringify(name.text)}`;
      this.named(statement, label, ts.isIdentifier(name) ? name.text : undefined, true);
      return;
    } else if (ts.isImportEqualsDeclaration(statement)) {
      this.named(statement, `import ${statement.name.text}`, statement.name.text, true);
      return;
    } else if (ts.isVariableStatement(statement)) {
      this.indexVariables(statement);
      return;
    }
    const path = `statement #${++this.statements}`;
    this.addNode(path, statement, undefined);
    this.evaluationOrder.push(path);
  }

  private named(statement: ts.Statement, path: string, name: string | undefined, evaluates: boolean): void {
    const modifiers = this.ts.canHaveModifiers(statement) ? statement.modifiers : undefined;
    this.addNode(path, statement, modifiers);
    if (name !== undefined) {
      this.declareName(name, path);
      this.exportDeclared(statement, name);
    }
    if (evaluates && !this.hasModifier(statement, this.ts.SyntaxKind.DeclareKeyword) && !this.evaluationOrder.includes(path)) {
      this.evaluationOrder.push(path);
    }
  }

  private indexVariables(statement: ts.VariableStatement): void {
    const ts = this.ts;
    const list = statement.declarationList;
    const keyword = declarationKeyword(ts, list);
    for (const declaration of list.declarations) {
      const names = boundNames(ts, declaration.name);
      const path = ts.isIdentifier(declaration.name)
        ? `${keyword} ${declaration.name.text}`
        : ts.isObjectBindingPattern(declaration.name)
          ? `${keyword} { ${names.join(", ")} }`
          : `${keyword} [${names.join(", ")}]`;
      this.addNode(path, declaration, statement.modifiers, `var/${list.flags & (ts.NodeFlags.BlockScoped | ts.NodeFlags.Using)}`);
      for (const name of names) {
        this.declareName(name, path);
        this.exportDeclared(statement, name);
      }
      if (!this.hasModifier(statement, ts.SyntaxKind.DeclareKeyword)) this.evaluationOrder.push(path);
    }
  }

  /**
   * Finds `export default defineMod<State>({...})` (also through `const mod = defineMod(...);
   * export default mod`, and a plain object literal) and fingerprints each property of the
   * definition on its own, so a changed handler is reported as `on.hit` rather than as the whole
   * default export.
   */
  private findModDefinition(): void {
    const ts = this.ts;
    const statements = this.file.statements;
    const exported = statements.find((s): s is ts.ExportAssignment => ts.isExportAssignment(s) && s.isExportEquals !== true);
    if (exported === undefined) return;
    let host = "export default";
    let declared = this.declaredState(exported.expression);
    let expression = unwrap(ts, exported.expression);
    if (ts.isIdentifier(expression)) {
      const name = expression.text;
      const found = this.findVariable(name);
      if (found === undefined) return;
      host = `${declarationKeyword(ts, found.list)} ${name}`;
      declared ??= this.declaredState(found.initializer) ?? this.stateOfType(found.type);
      expression = unwrap(ts, found.initializer);
    }
    let definition: ts.ObjectLiteralExpression | undefined;
    let stateType: ts.TypeNode | undefined;
    if (ts.isCallExpression(expression) && this.isDefineMod(expression.expression)) {
      stateType = expression.typeArguments?.[0] ?? declared;
      const argument = expression.arguments[0];
      const object = argument === undefined ? undefined : unwrap(ts, argument);
      if (object !== undefined && ts.isObjectLiteralExpression(object)) definition = object;
      const kind = object === undefined ? "nothing" : this.notAnObject(object);
      if (kind !== undefined) {
        this.modDefinition = { host, invalid: `defineMod() is given ${kind}, not an object of handlers` };
        return;
      }
    } else if (ts.isObjectLiteralExpression(expression)) {
      // `export default { ... } satisfies ModDefinition<State>`: the SDK's type names the state.
      stateType = declared;
      definition = expression;
    } else {
      const kind = this.notAnObject(expression);
      if (kind !== undefined) this.modDefinition = { host, invalid: `the default export is ${kind}, not defineMod({ ... })` };
      return;
    }

    let properties: Set<string> | undefined;
    if (definition !== undefined) {
      properties = new Set();
      this.placeholders.set(definition, "<mod>");
      this.indexProperties(definition, "", properties);
    }
    let state: ModDefinition["stateType"];
    if (stateType !== undefined) {
      const print = this.builder().add(stateType).finish();
      state = { print: print.text, references: [...print.references] };
    }
    this.modDefinition = {
      host,
      ...(properties !== undefined ? { properties } : {}),
      ...(state !== undefined ? { stateType: state } : {}),
    };
  }

  /** The properties of the definition (and of its `on` object) as declarations of their own. */
  private indexProperties(object: ts.ObjectLiteralExpression, prefix: string, paths: Set<string>): void {
    const ts = this.ts;
    let spreads = 0;
    for (const property of object.properties) {
      if (ts.isSpreadAssignment(property)) {
        this.addProperty(`${prefix}...#${++spreads}`, property, paths);
        continue;
      }
      const name = this.propertyName(property.name);
      if (prefix === "" && name === "on" && ts.isPropertyAssignment(property)) {
        const handlers = unwrap(ts, property.initializer);
        if (ts.isObjectLiteralExpression(handlers)) {
          // Recorded so that `on: {}` still differs from no `on`, and a wrapper (`as`) is seen.
          const shell = new Map(this.placeholders).set(handlers, "<handlers>");
          const print = new FingerprintBuilder(ts, shell).add(property).finish();
          this.add("on", print.text, print.text, print.references);
          paths.add("on");
          this.indexProperties(handlers, "on.", paths);
          continue;
        }
      }
      this.addProperty(`${prefix}${name}`, property, paths);
    }
  }

  private addProperty(path: string, property: ts.Node, paths: Set<string>): void {
    const print = this.builder().add(property).finish();
    this.add(path, print.text, print.text, print.references);
    paths.add(path);
  }

  /** A property's name as written in a path: `hit`, `player.hit` for `"player.hit"`, `[EVENT]`. */
  private propertyName(name: ts.PropertyName): string {
    const ts = this.ts;
    if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name) || ts.isPrivateIdentifier(name)) {
      return name.text;
    }
    if (ts.isComputedPropertyName(name)) return `[${name.expression.getText(this.file)}]`;
    return name.getText(this.file);
  }

  /** What `expression` is when it can never be an object of handlers (a literal of another kind). */
  private notAnObject(expression: ts.Expression): string | undefined {
    const ts = this.ts;
    const k = ts.SyntaxKind;
    if (expression.kind === k.NullKeyword) return "null";
    if (ts.isIdentifier(expression) && expression.text === "undefined") return "undefined";
    if (ts.isVoidExpression(expression)) return "undefined";
    if (ts.isNumericLiteral(expression) || ts.isBigIntLiteral(expression) || ts.isPrefixUnaryExpression(expression)) return "a number";
    if (ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression) || ts.isTemplateExpression(expression)) return "a string";
    if (expression.kind === k.TrueKeyword || expression.kind === k.FalseKeyword) return "a boolean";
    if (ts.isArrayLiteralExpression(expression)) return "an array";
    return undefined;
  }

  /** Is `callee` the SDK's `defineMod` (imported under any name, or through a namespace import)? */
  private isDefineMod(callee: ts.Expression): boolean {
    const ts = this.ts;
    const target = unwrap(ts, callee);
    const sdk = [...this.imports].filter(([, binding]) => binding.specifier === SDK_SPECIFIER);
    if (ts.isIdentifier(target)) {
      const binding = this.imports.get(target.text);
      if (binding !== undefined) return binding.specifier === SDK_SPECIFIER && binding.name === "defineMod";
      // Without an import (a global declaration in tests or tools), go by the name.
      return target.text === "defineMod" && !sdk.some(([, b]) => b.name === "defineMod");
    }
    if (ts.isPropertyAccessExpression(target) && ts.isIdentifier(target.expression) && target.name.text === "defineMod") {
      const binding = this.imports.get(target.expression.text);
      return binding !== undefined && binding.specifier === SDK_SPECIFIER && binding.name === "*";
    }
    return false;
  }

  /** The `State` of `x satisfies ModDefinition<State>` / `x as ModDefinition<State>`, through parentheses. */
  private declaredState(expression: ts.Expression): ts.TypeNode | undefined {
    const ts = this.ts;
    let current = expression;
    for (;;) {
      if (ts.isSatisfiesExpression(current) || ts.isAsExpression(current)) {
        const state = this.stateOfType(current.type);
        if (state !== undefined) return state;
        current = current.expression;
      } else if (ts.isParenthesizedExpression(current) || ts.isNonNullExpression(current)) {
        current = current.expression;
      } else {
        return undefined;
      }
    }
  }

  /** The type argument of `ModDefinition<State>` (also `sdk.ModDefinition<State>`). */
  private stateOfType(type: ts.TypeNode | undefined): ts.TypeNode | undefined {
    const ts = this.ts;
    if (type === undefined || !ts.isTypeReferenceNode(type)) return undefined;
    const name = ts.isIdentifier(type.typeName) ? type.typeName.text : type.typeName.right.text;
    const binding = ts.isIdentifier(type.typeName) ? this.imports.get(name) : undefined;
    const isSdkType = binding === undefined ? name === "ModDefinition" : binding.specifier === SDK_SPECIFIER && binding.name === "ModDefinition";
    return isSdkType ? type.typeArguments?.[0] : undefined;
  }

  private findVariable(name: string): { list: ts.VariableDeclarationList; initializer: ts.Expression; type: ts.TypeNode | undefined } | undefined {
    const ts = this.ts;
    for (const statement of this.file.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.name.text === name && declaration.initializer !== undefined) {
          return { list: statement.declarationList, initializer: declaration.initializer, type: declaration.type };
        }
      }
    }
    return undefined;
  }
}

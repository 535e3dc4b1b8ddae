import type ts from "typescript";
import { DepthGuard } from "../compile/source-limits.js";
import type { TypeScript } from "../compile/load-typescript.js";
import { FingerprintBuilder } from "./ast-fingerprint.js";
import type { Declaration, ExportedBinding, FileDeclarations, ImportedBinding, ModDefinition } from "./declaration-types.js";
import { ModDefinitionReader } from "./mod-definition.js";
import { boundNames, declarationKeyword, unparenthesize } from "./syntax-queries.js";

interface Pending {
  readonly print: string[];
  readonly shape: string[];
  readonly references: Set<string>;
}

/**
 * Indexes one parsed file for the semantic diff: each top-level declaration fingerprinted under
 * its path, the names it declares, its imports and exports, what runs when the module is
 * evaluated, and its mod definition (read by `ModDefinitionReader`, each property a declaration).
 */
export class FileIndexer {
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
    this.modDefinition = new ModDefinitionReader(this.ts, this.file, this.imports, this.placeholders, (path, print, shape, references) =>
      this.add(path, print, shape, references),
    ).read();
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
}

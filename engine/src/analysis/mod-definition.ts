import type ts from "typescript";
import type { TypeScript } from "../compile/load-typescript.js";
import { SDK_SPECIFIER } from "../compile/resolve-mod-specifier.js";
import { FingerprintBuilder } from "./ast-fingerprint.js";
import type { ImportedBinding, ModDefinition } from "./declaration-types.js";
import { declarationKeyword, unwrap } from "./syntax-queries.js";

/** Where the reader puts each property of the definition: as a declaration of the file. */
export type RecordDeclaration = (path: string, print: string, shape: string, references: Iterable<string>) => void;

/**
 * Reads a file's mod definition: finds it, tells why it cannot be one, and fingerprints each of
 * its properties as a declaration of its own (recorded through `record`). The definition's object
 * is then a placeholder (`<mod>`) in `placeholders`, so the declaration that holds it leaves out
 * what its properties already say. Runs after the file's imports are indexed (it needs them to
 * tell the SDK's `defineMod` and `ModDefinition` from other names).
 */
export class ModDefinitionReader {
  private modDefinition: ModDefinition | undefined;

  constructor(
    private readonly ts: TypeScript,
    private readonly file: ts.SourceFile,
    private readonly imports: ReadonlyMap<string, ImportedBinding>,
    private readonly placeholders: Map<ts.Node, string>,
    private readonly record: RecordDeclaration,
  ) {}

  /** The file's mod definition, or undefined when its default export is none (or there is none). */
  read(): ModDefinition | undefined {
    this.find();
    return this.modDefinition;
  }

  /**
   * Finds `export default defineMod<State>({...})` (also through `const mod = defineMod(...);
   * export default mod`, and a plain object literal) and fingerprints each property of the
   * definition on its own, so a changed handler is reported as `on.hit` rather than as the whole
   * default export.
   */
  private find(): void {
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
      const print = new FingerprintBuilder(this.ts, this.placeholders).add(stateType).finish();
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
          this.record("on", print.text, print.text, print.references);
          paths.add("on");
          this.indexProperties(handlers, "on.", paths);
          continue;
        }
      }
      this.addProperty(`${prefix}${name}`, property, paths);
    }
  }

  private addProperty(path: string, property: ts.Node, paths: Set<string>): void {
    const print = new FingerprintBuilder(this.ts, this.placeholders).add(property).finish();
    this.record(path, print.text, print.text, print.references);
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

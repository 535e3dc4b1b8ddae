import type ts from "typescript";
import { DepthGuard } from "./source-limits.js";
import type { TypeScript } from "./load-typescript.js";

/**
 * A static import or re-export written in a mod file: the specifier and where its string literal
 * starts (line 1-based, column 0-based, like `Diagnostic`). `typeOnly` imports are erased by the
 * transpiler (`import type`, `export type ... from`, `import("./x").T` in a type) but are still
 * checked, since they may point anywhere.
 */
export interface ImportReference {
  readonly specifier: string;
  readonly typeOnly: boolean;
  readonly line: number;
  readonly column: number;
}

/**
 * Lists the module specifiers of `sourceFile` from its AST: import declarations, `export ... from`
 * and import types. Dynamic `import()` and `import x = require()` are not imports a mod may use;
 * the safety rules report them.
 */
export function findImports(typescript: TypeScript, sourceFile: ts.SourceFile): ImportReference[] {
  const found: ImportReference[] = [];
  const add = (literal: ts.Node, text: string, typeOnly: boolean): void => {
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(literal.getStart(sourceFile));
    found.push({ specifier: text, typeOnly, line: line + 1, column: character });
  };

  const guard = new DepthGuard();
  const visit = (node: ts.Node): void => {
    if (typescript.isImportDeclaration(node)) {
      if (typescript.isStringLiteral(node.moduleSpecifier)) {
        add(node.moduleSpecifier, node.moduleSpecifier.text, isTypeOnlyImport(typescript, node));
      }
      return;
    }
    if (typescript.isExportDeclaration(node)) {
      if (node.moduleSpecifier !== undefined && typescript.isStringLiteral(node.moduleSpecifier)) {
        add(node.moduleSpecifier, node.moduleSpecifier.text, node.isTypeOnly);
      }
      return;
    }
    if (typescript.isModuleDeclaration(node) && typescript.isStringLiteral(node.name)) {
      // `declare module "x" { ... }` augments a module's types; nothing in it is imported at run time.
      return;
    }
    if (typescript.isImportTypeNode(node)) {
      const argument = node.argument;
      if (typescript.isLiteralTypeNode(argument) && typescript.isStringLiteral(argument.literal)) {
        add(argument.literal, argument.literal.text, true);
      }
    }
    guard.descend(node, (n) => typescript.forEachChild(n, visit));
  };
  typescript.forEachChild(sourceFile, visit);
  return found;
}

/** `import type ...`, or only `type` named bindings: the transpiler drops the whole declaration. */
function isTypeOnlyImport(typescript: TypeScript, node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false; // `import "./x"` runs ./x for its side effects.
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  return (
    bindings !== undefined &&
    typescript.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((element) => element.isTypeOnly)
  );
}

import type ts from "typescript";
import type { TypeScript } from "./load-typescript.js";

/** What one file can do to the type-checking of the mod's other files. */
export interface ModuleReferences {
  /**
   * Every module specifier the file names: imports, re-exports (`export * as x from` too),
   * `import x = require()`, `import()` calls and `import("./x").T` types.
   */
  readonly specifiers: readonly string[];
  /**
   * True when the file can change files that do not import it: `declare global`, `declare
   * module "..."` (augmentations), triple-slash references, or a declaration file (a script
   * whose declarations are global).
   */
  readonly global: boolean;
}

/**
 * Lists a parsed file's module references from its syntax tree. The type checker uses them to
 * re-check, after an edit, only the edited files and the files that import them (transitively),
 * so an over-approximation is harmless and a miss would leave stale diagnostics: every form of
 * module reference TypeScript resolves is listed.
 */
export function moduleReferences(typescript: TypeScript, sourceFile: ts.SourceFile): ModuleReferences {
  const specifiers: string[] = [];
  let global =
    sourceFile.isDeclarationFile ||
    sourceFile.referencedFiles.length > 0 ||
    sourceFile.typeReferenceDirectives.length > 0 ||
    sourceFile.libReferenceDirectives.length > 0;

  const literal = (node: ts.Node | undefined): void => {
    if (node !== undefined && typescript.isStringLiteralLike(node)) specifiers.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (typescript.isImportDeclaration(node) || typescript.isExportDeclaration(node)) {
      literal(node.moduleSpecifier);
    } else if (typescript.isImportEqualsDeclaration(node) && typescript.isExternalModuleReference(node.moduleReference)) {
      literal(node.moduleReference.expression);
    } else if (typescript.isImportTypeNode(node) && typescript.isLiteralTypeNode(node.argument)) {
      literal(node.argument.literal);
    } else if (typescript.isCallExpression(node) && node.expression.kind === typescript.SyntaxKind.ImportKeyword) {
      literal(node.arguments[0]);
    } else if (typescript.isModuleDeclaration(node) && (typescript.isStringLiteral(node.name) || (node.flags & typescript.NodeFlags.GlobalAugmentation) !== 0)) {
      global = true;
    }
    typescript.forEachChild(node, visit);
  };
  typescript.forEachChild(sourceFile, visit);
  return { specifiers, global };
}

import type ts from "typescript";
import type { TypeScript } from "./load-typescript.js";
import { SDK_SPECIFIER } from "./resolve-mod-specifier.js";

/**
 * Rewrites the SDK's declaration file (a module: `export interface ModEvents {}`...) as an
 * ambient module, `declare module "@modhost/sdk" { ... }`, which is how the type checker gives it
 * to every program.
 *
 * Why: games declare their events with `declare module "@modhost/sdk" { interface ModEvents
 * {...} }`. In a module file that is an augmentation of the SDK, but in a script file (a .d.ts
 * without import or export, the natural way to write it) it is an ambient module declaration,
 * which TypeScript prefers over the resolved SDK file: the SDK would vanish behind it. Ambient
 * module declarations of one name merge with each other, and augmentations apply to ambient
 * modules too, so with the SDK itself ambient both forms type the handlers.
 *
 * Throws an Error when the file imports relative paths (an ambient module cannot) or has
 * triple-slash references, i.e. when the SDK's declarations are no longer one self-contained file.
 */
export function sdkAmbientModule(typescript: TypeScript, fileName: string, text: string): string {
  const source = typescript.createSourceFile(fileName, text, typescript.ScriptTarget.Latest, true);
  const removals: Array<readonly [start: number, end: number]> = [];
  // Triple-slash references would become plain comments inside the module's braces.
  const reference = source.referencedFiles[0] ?? source.typeReferenceDirectives[0];
  if (reference !== undefined) {
    throw new Error(`the SDK's declarations (${fileName}) reference "${reference.fileName}": the type checker needs them in one file`);
  }
  for (const statement of source.statements) {
    const specifier = moduleSpecifier(typescript, statement);
    if (specifier !== undefined && specifier.startsWith(".")) {
      throw new Error(`the SDK's declarations (${fileName}) import "${specifier}": the type checker needs them in one file`);
    }
    // `declare` is implied (and an error) inside an ambient module; `declare global` keeps it.
    if (typescript.isModuleDeclaration(statement) && (statement.flags & typescript.NodeFlags.GlobalAugmentation) !== 0) continue;
    const modifiers = typescript.canHaveModifiers(statement) ? typescript.getModifiers(statement) : undefined;
    for (const modifier of modifiers ?? []) {
      if (modifier.kind === typescript.SyntaxKind.DeclareKeyword) removals.push([modifier.getStart(source), modifier.end]);
    }
  }
  let body = "";
  let at = 0;
  for (const [start, end] of removals) {
    body += text.slice(at, start);
    at = end;
  }
  body += text.slice(at);
  return `declare module ${JSON.stringify(SDK_SPECIFIER)} {\n${body}\n}\n`;
}

function moduleSpecifier(typescript: TypeScript, statement: ts.Statement): string | undefined {
  if ((typescript.isImportDeclaration(statement) || typescript.isExportDeclaration(statement)) && statement.moduleSpecifier !== undefined) {
    return typescript.isStringLiteral(statement.moduleSpecifier) ? statement.moduleSpecifier.text : undefined;
  }
  if (typescript.isImportEqualsDeclaration(statement) && typescript.isExternalModuleReference(statement.moduleReference)) {
    const expression = statement.moduleReference.expression;
    return typescript.isStringLiteral(expression) ? expression.text : undefined;
  }
  return undefined;
}

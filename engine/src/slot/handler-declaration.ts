import type ts from "typescript";
import { loadTypeScript } from "../compile/load-typescript.js";
import type { ModVersion } from "../compile/mod-version.js";
import type { SourcePosition } from "../compile/source-position.js";

/**
 * Where `on.<event>` is declared in the version's entry file: the first property or method of
 * that name in an object literal given as `on` (the definition's handlers). Undefined when the
 * handlers are not written that way (built elsewhere, spread in). The fallback location of a
 * timeout the profiled run could not place (slot/timeout-location.ts); it parses the file with
 * TypeScript (loaded on first use), paid only then.
 */
export async function handlerDeclaration(version: ModVersion, event: string): Promise<SourcePosition | undefined> {
  const entry = version.spec.entry;
  const text = version.files.get(entry);
  if (text === undefined) return undefined;
  const typescript = await loadTypeScript();
  const file = typescript.createSourceFile(entry, text, typescript.ScriptTarget.Latest, true);
  const found = findHandler(typescript, file, event);
  if (found === undefined) return undefined;
  const { line, character } = file.getLineAndCharacterOfPosition(found.getStart(file));
  return { file: entry, line: line + 1, column: character };
}

function findHandler(typescript: typeof ts, root: ts.Node, event: string): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (node: ts.Node): void => {
    if (found !== undefined) return;
    if (typescript.isPropertyAssignment(node) && nameOf(typescript, node.name) === "on" && typescript.isObjectLiteralExpression(node.initializer)) {
      found = node.initializer.properties.find((p) => p.name !== undefined && nameOf(typescript, p.name) === event);
      if (found !== undefined) return;
    }
    typescript.forEachChild(node, visit);
  };
  visit(root);
  return found;
}

function nameOf(typescript: typeof ts, name: ts.PropertyName): string | undefined {
  if (typescript.isIdentifier(name) || typescript.isStringLiteral(name) || typescript.isNumericLiteral(name)) return name.text;
  return undefined;
}

import { loadTypeScript } from "../compile/load-typescript.js";
import type { SwapChange } from "../model/swap-report.js";
import type { ModManifest } from "../manifest/mod-manifest.js";
import type { FileDeclarations } from "./file-declarations.js";
import { diffManifests } from "./manifest-diff.js";
import { stateShapeReasons } from "./state-shape.js";
import { displayPath, indexVersion } from "./version-index.js";

/** One version of a mod, as the semantic diff reads it. */
export interface VersionSource {
  readonly manifest: ModManifest;
  /** Every .ts file of the version: posix path relative to the mod folder -> text. */
  readonly files: ReadonlyMap<string, string>;
}

/** What a new version changes compared with the running one, and what that requires. */
export interface SemanticDiff {
  /** No semantic change at all (code and manifest): the swap is skipped. */
  readonly noop: boolean;
  /** Declarations added/removed/modified, by path, sorted by path. */
  readonly changes: SwapChange[];
  /** The state's shape changed: the new version needs a migrate(). */
  readonly stateShapeChanged: boolean;
  /** Why the shape is considered changed (e.g. ["type State", "init"]), for the report. */
  readonly stateShapeReasons: string[];
  /** Permissions in the new manifest that the old one did not have. */
  readonly permissionsAdded: string[];
  /** Limits the new manifest raises (or sets where the old had none): "memoryMb" | "callTimeoutMs". */
  readonly limitsRaised: string[];
  /** Does the new version define migrate()? */
  readonly newHasMigrate: boolean;
  /**
   * Why the new version's entry cannot define a mod (no default export, `defineMod(null)`, an
   * empty file as an editor leaves it mid-save): it would fail to load, so it is refused as
   * E_MOD_DEFINITION before any state-shape reasoning.
   */
  readonly definitionProblem?: string;
}

/** The path reported when only the order of top-level code that runs at load time changed. */
export const EVALUATION_ORDER = "evaluation order";

/**
 * Compares two versions of a mod on the TypeScript AST, declaration by declaration.
 *
 * Formatting, comments, quote style, number spelling, redundant parentheses, trailing commas,
 * semicolons, the order of imports and of import specifiers, the order of top-level
 * declarations that are hoisted or have no run-time effect, and the order of the mod
 * definition's properties and handlers are not changes (see `FingerprintBuilder` for the exact
 * list). Paths name top-level declarations (`function dmg`, `const X`, `type State`,
 * `statement #1`, `imports`, `exports`), the mod definition's properties (`init`, `migrate`,
 * `on.hit`), files (`file lib/x.ts`) and manifest fields (`mod.json#version`); declarations of
 * files other than the entry are qualified by their file (`lib/util.ts: function dmg`).
 *
 * Parsing is cached by file text, so re-diffing a watched mod parses only the files that changed.
 * Throws only if the TypeScript compiler cannot be loaded; code that does not parse is compared
 * as far as the parser recovered (compiling it reports the error).
 */
export async function diffVersions(previous: VersionSource, next: VersionSource): Promise<SemanticDiff> {
  const typescript = await loadTypeScript();
  const manifest = diffManifests(previous.manifest, next.manifest);
  const before = indexVersion(typescript, previous.manifest.entry, previous.files);
  const after = indexVersion(typescript, next.manifest.entry, next.files);

  const code: SwapChange[] = [];
  const paths = [...new Set([...previous.files.keys(), ...next.files.keys()])].sort();
  for (const file of paths) {
    const oldText = previous.files.get(file);
    const newText = next.files.get(file);
    if (oldText === newText) continue;
    const oldFile = before.files.get(file);
    const newFile = after.files.get(file);
    if (oldFile === undefined) code.push({ kind: "added", path: `file ${file}` });
    else if (newFile === undefined) code.push({ kind: "removed", path: `file ${file}` });
    else diffFile(oldFile, newFile, (path) => displayPath(next.manifest.entry, file, path), code);
  }

  const entryChanged = previous.manifest.entry !== next.manifest.entry;
  const reasons = stateShapeReasons(before, after, code.length > 0 || entryChanged);
  const changes = [...manifest.changes, ...code].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const entry = after.files.get(next.manifest.entry);
  const definition = entry?.modDefinition;
  const definitionProblem =
    entry === undefined || !(entry.exports.has("default") || entry.declarations.has("export default"))
      ? `the entry module ${next.manifest.entry} has no default export; it must \`export default defineMod({ ... })\``
      : definition?.invalid;
  return {
    ...(definitionProblem !== undefined ? { definitionProblem } : {}),
    noop: changes.length === 0,
    changes,
    stateShapeChanged: reasons.length > 0,
    stateShapeReasons: reasons,
    permissionsAdded: manifest.permissionsAdded,
    limitsRaised: manifest.limitsRaised,
    newHasMigrate: definition?.properties?.has("migrate") === true,
  };
}

/** Adds the differences between two versions of one file to `changes`. */
function diffFile(before: FileDeclarations, after: FileDeclarations, display: (path: string) => string, changes: SwapChange[]): void {
  for (const [path, declaration] of before.declarations) {
    const now = after.declarations.get(path);
    if (now === undefined) changes.push({ kind: "removed", path: display(path) });
    else if (now.print !== declaration.print) changes.push({ kind: "modified", path: display(path) });
  }
  for (const path of after.declarations.keys()) {
    if (!before.declarations.has(path)) changes.push({ kind: "added", path: display(path) });
  }
  // Same declarations, run in another order at load time (`const a = f(); const b = g();`
  // swapped): each is unchanged, but what the module does when loaded may not be.
  const common = (order: readonly string[], other: readonly string[]): string[] => {
    const present = new Set(other);
    return order.filter((path) => present.has(path));
  };
  const oldOrder = common(before.evaluationOrder, after.evaluationOrder);
  const newOrder = common(after.evaluationOrder, before.evaluationOrder);
  if (oldOrder.some((path, i) => newOrder[i] !== path)) changes.push({ kind: "modified", path: display(EVALUATION_ORDER) });
}

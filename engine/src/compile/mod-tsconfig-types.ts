import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, parse, relative, resolve } from "node:path";
import { loadTypeScript } from "./load-typescript.js";

/** The game's declaration files a mod's tsconfig.json names, and where they came from. */
export interface ModTsconfigTypes {
  /** The tsconfig.json read (the mod folder's, or the nearest one above it), if any. */
  readonly tsconfig: string | undefined;
  /** Absolute paths of the existing .d.ts files it names. */
  readonly types: readonly string[];
  /** .d.ts files it names that do not exist (absolute paths): reported, not silently skipped. */
  readonly missing: readonly string[];
}

/**
 * Finds the game's declarations (ModEvents, ModResults, ModCapabilities) the way an editor sees
 * them: the mod folder's tsconfig.json, or the nearest one above it within the project (a folder
 * of mods often shares one), as TypeScript parses it (comments, `extends`, `include` globs). Counted as the game's:
 *   - `"modhost": { "types": ["../game.d.ts"] }` (a key of modhost's own; tsc ignores it),
 *   - `.d.ts` files in `files`, or matched by `include`,
 *   - path entries of `compilerOptions.types` (`"./game.d.ts"`; package names are left to tsc).
 * A tsconfig that cannot be parsed gives no types (tsc reports it to the author in the editor).
 */
export async function modTsconfigTypes(modDir: string): Promise<ModTsconfigTypes> {
  const tsconfig = findTsconfig(modDir);
  if (tsconfig === undefined) return { tsconfig: undefined, types: [], missing: [] };
  const ts = await loadTypeScript();
  const read = ts.readConfigFile(tsconfig, (path) => ts.sys.readFile(path));
  if (read.error !== undefined || typeof read.config !== "object" || read.config === null) return { tsconfig, types: [], missing: [] };
  const base = dirname(tsconfig);
  const config = read.config as { modhost?: { types?: unknown }; compilerOptions?: { types?: unknown } };
  const named: string[] = [];
  const ownTypes = config.modhost?.types;
  for (const entry of Array.isArray(ownTypes) ? ownTypes : typeof ownTypes === "string" ? [ownTypes] : []) {
    if (typeof entry === "string") named.push(resolve(base, entry));
  }
  const typesOption = config.compilerOptions?.types;
  for (const entry of Array.isArray(typesOption) ? typesOption : []) {
    if (typeof entry === "string" && (entry.startsWith(".") || isAbsolute(entry) || entry.endsWith(".d.ts"))) named.push(resolve(base, entry.endsWith(".d.ts") ? entry : `${entry}.d.ts`));
  }
  // files and include, expanded by TypeScript itself (globs, extends); errors there are tsc's to report.
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, base, undefined, tsconfig);
  for (const file of parsed.fileNames) if (file.endsWith(".d.ts") && !isInside(file, join(base, "node_modules"))) named.push(resolve(file));
  const unique = [...new Set(named)];
  return { tsconfig, types: unique.filter((f) => existsSync(f)), missing: unique.filter((f) => !existsSync(f)) };
}

/**
 * The mod folder's tsconfig.json, else the nearest one in a folder above it, up to the project's
 * root (a folder with package.json or .git): a tsconfig beyond it is another project's.
 */
function findTsconfig(modDir: string): string | undefined {
  for (let dir = resolve(modDir); ; dir = dirname(dir)) {
    const candidate = join(dir, "tsconfig.json");
    if (existsSync(candidate)) return candidate;
    if (dir === parse(dir).root || existsSync(join(dir, "package.json")) || existsSync(join(dir, ".git"))) return undefined;
  }
}

function isInside(file: string, dir: string): boolean {
  const rel = relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

import type { TypeScript } from "../compile/load-typescript.js";
import { resolveModSpecifier } from "../compile/resolve-mod-specifier.js";
import { fileDeclarations, type Declaration, type FileDeclarations } from "./file-declarations.js";

/** Every file of one version of a mod, indexed: what the semantic diff compares. */
export interface VersionIndex {
  /** The entry module's path, e.g. `main.ts`. */
  readonly entry: string;
  readonly paths: ReadonlySet<string>;
  readonly files: ReadonlyMap<string, FileDeclarations>;
}

/** A declaration together with the file it is in. */
export interface Located {
  readonly file: string;
  readonly declaration: Declaration;
}

/** Indexes every file of a version (each from the cache when its text was seen before). */
export function indexVersion(typescript: TypeScript, entry: string, files: ReadonlyMap<string, string>): VersionIndex {
  const indexed = new Map<string, FileDeclarations>();
  for (const [path, text] of files) indexed.set(path, fileDeclarations(typescript, text));
  return { entry, paths: new Set(files.keys()), files: indexed };
}

/**
 * How a declaration is named in reports: as is in the entry module (`function dmg`, `on.hit`),
 * qualified by its file elsewhere (`lib/util.ts: function dmg`).
 */
export function displayPath(entry: string, file: string, path: string): string {
  return file === entry ? path : `${file}: ${path}`;
}

// `import("./types").State` in a type, as `Fingerprint.references` writes it.
const IMPORT_TYPE = /^import\(("(?:[^"\\]|\\.)*")\)\.(.+)$/;

/**
 * Follows names from declaration to declaration across a version's files: local declarations,
 * imports of the mod's files (named, default, namespace members), re-exports and `export *`.
 * Names that lead outside the mod (the SDK, globals, type parameters) are simply not followed.
 * Matching is by name, not by scope: a parameter named like a top-level declaration pulls that
 * declaration in, which can only make a comparison more cautious, never miss a change.
 */
export class DeclarationResolver {
  private readonly seenExports = new Set<string>();

  constructor(private readonly version: VersionIndex) {}

  /** The declarations `reference` (as written in `file`) may stand for. */
  resolve(file: string, reference: string): Located[] {
    this.seenExports.clear();
    const found: Located[] = [];
    const imported = IMPORT_TYPE.exec(reference);
    if (imported !== null) {
      const target = this.module(file, JSON.parse(imported[1] ?? '""') as string);
      const name = imported[2] ?? "";
      if (target !== undefined) this.resolveExport(target, name.split(".")[0] ?? name, found);
      return found;
    }
    const dot = reference.indexOf(".");
    const head = dot < 0 ? reference : reference.slice(0, dot);
    const member = dot < 0 ? undefined : reference.slice(dot + 1);
    this.resolveName(file, head, member, found);
    return found;
  }

  /** A declaration of `file` by path, when the file and the declaration exist. */
  declaration(file: string, path: string): Located | undefined {
    const declaration = this.version.files.get(file)?.declarations.get(path);
    return declaration === undefined ? undefined : { file, declaration };
  }

  private resolveName(file: string, name: string, member: string | undefined, found: Located[]): void {
    const index = this.version.files.get(file);
    if (index === undefined) return;
    const local = index.names.get(name);
    if (local !== undefined) {
      for (const path of local) {
        const declaration = index.declarations.get(path);
        if (declaration !== undefined) found.push({ file, declaration });
      }
      return;
    }
    const binding = index.imports.get(name);
    if (binding === undefined) return;
    const target = this.module(file, binding.specifier);
    if (target === undefined) return;
    if (binding.name !== "*") this.resolveExport(target, binding.name, found);
    else if (member !== undefined) this.resolveExport(target, member, found);
  }

  private resolveExport(file: string, name: string, found: Located[]): void {
    const key = `${file}\0${name}`;
    // Re-export cycles (`export *` both ways) are legal; each export is followed once.
    if (this.seenExports.has(key)) return;
    this.seenExports.add(key);
    const index = this.version.files.get(file);
    if (index === undefined) return;
    const exported = index.exports.get(name);
    if (exported?.kind === "local") {
      this.resolveName(file, exported.name, undefined, found);
    } else if (exported?.kind === "from") {
      const target = this.module(file, exported.specifier);
      if (target !== undefined && exported.name !== "*") this.resolveExport(target, exported.name, found);
    } else {
      for (const specifier of index.starExports) {
        const target = this.module(file, specifier);
        if (target !== undefined) this.resolveExport(target, name, found);
      }
    }
  }

  private module(from: string, specifier: string): string | undefined {
    const resolved = resolveModSpecifier(from, specifier, this.version.paths);
    return resolved.kind === "mod" ? resolved.path : undefined;
  }
}

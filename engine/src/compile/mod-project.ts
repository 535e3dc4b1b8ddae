import type ts from "typescript";
import type { TypeScript } from "./load-typescript.js";
import { moduleReferences, type ModuleReferences } from "./module-references.js";
import { resolveModSpecifier, SDK_SPECIFIER } from "./resolve-mod-specifier.js";
import { LIB_DIR, SharedScriptFiles } from "./shared-script-files.js";
import { TextSnapshot } from "./text-snapshot.js";

/** What every mod's project shares: one per `ModTypeChecker`. */
export interface ModProjectSetup {
  readonly typescript: TypeScript;
  readonly registry: ts.DocumentRegistry;
  readonly options: ts.CompilerOptions;
  readonly shared: SharedScriptFiles;
  /**
   * Declaration files that are roots of every mod's program: the sandbox globals, the SDK as an
   * ambient module (see `sdkAmbientModule`), the game's declarations.
   */
  readonly sharedRoots: readonly string[];
}

/** One of the mod's files in the language service: its text and the version naming that text. */
interface ModFile {
  readonly text: string;
  readonly version: string;
  readonly snapshot: ts.IScriptSnapshot;
}

/** A file's program diagnostics, split the way TypeScript computes them. */
export interface FileDiagnostics {
  /** Posix path relative to the mod folder. */
  readonly path: string;
  readonly syntactic: readonly ts.Diagnostic[];
  readonly semantic: readonly ts.Diagnostic[];
}

/** What the last `diagnostics()` found for one file, at one version of its text. */
interface CheckedFile {
  readonly version: string;
  readonly references: ModuleReferences;
  readonly diagnostics: FileDiagnostics;
}

/**
 * One mod's warm language service: its files live under a virtual root (`/__mod__/<name>/`) that
 * exists nowhere on disk, so nothing outside the mod can be reached through a relative import;
 * every other file (lib, SDK, game declarations) comes from the shared store, and
 * `@modhost/sdk` is the ambient module among the shared roots. `update` gives new
 * versions only to files whose text changed, so the language service re-parses just those and
 * the program reuses every other source file; `diagnostics` then re-checks only those files and
 * the files that import them.
 */
export class ModProject {
  /** The virtual folder of the mod's files, ending in `/`. */
  readonly root: string;

  readonly #setup: ModProjectSetup;
  readonly #files = new Map<string, ModFile>();
  readonly #service: ts.LanguageService;
  #rootNames: string[] = [];
  #relativePaths: ReadonlySet<string> = new Set();
  #projectVersion = 0;
  #checked = new Map<string, CheckedFile>();
  // Versions come from one counter, never from a per-file count: a file deleted and added back
  // must not reuse a version the document registry may still hold for its old text.
  #nextVersion = 0;

  constructor(setup: ModProjectSetup, modName: string) {
    this.#setup = setup;
    this.root = `/__mod__/${encodeURIComponent(modName)}/`;
    this.#service = setup.typescript.createLanguageService(this.#host(), setup.registry);
  }

  /**
   * Makes the project's files exactly `files` (posix path relative to the mod -> text). Files
   * whose name does not end in `.ts` are left out: the linker only ever resolves `.ts` files.
   */
  update(files: ReadonlyMap<string, string>): void {
    let changed = false;
    const wanted = new Set<string>();
    for (const [path, text] of files) {
      if (!path.endsWith(".ts")) continue;
      const fileName = this.root + path;
      wanted.add(fileName);
      const current = this.#files.get(fileName);
      if (current?.text === text) continue;
      this.#files.set(fileName, { text, version: String(++this.#nextVersion), snapshot: new TextSnapshot(text) });
      changed = true;
    }
    for (const fileName of this.#files.keys()) {
      if (!wanted.has(fileName)) {
        this.#files.delete(fileName);
        changed = true;
      }
    }
    if (changed) {
      this.#projectVersion++;
      const paths = [...this.#files.keys()].sort();
      this.#rootNames = [...paths, ...this.#setup.sharedRoots];
      this.#relativePaths = new Set(paths.map((p) => p.slice(this.root.length)));
    }
  }

  /**
   * Syntactic and semantic diagnostics of each of the mod's files, in path order. A new program
   * means a new type checker, which would check every file again: instead only the files whose
   * text changed since the last call and the files importing them (transitively) are re-checked;
   * the others cannot have changed, and keep their diagnostics. Everything is re-checked when
   * files were added or removed (imports may resolve differently) or when a changed file can
   * reach files that do not import it (see `ModuleReferences.global`).
   */
  diagnostics(): FileDiagnostics[] {
    const program = this.#service.getProgram();
    if (program === undefined) throw new Error(`the language service of ${this.root} has no program`);
    const fileNames = this.#rootNames.filter((fileName) => fileName.startsWith(this.root));

    let everything = fileNames.length !== this.#checked.size;
    const changed = new Set<string>();
    const references = new Map<string, ModuleReferences>();
    for (const fileName of fileNames) {
      const version = this.#files.get(fileName)?.version;
      const checked = this.#checked.get(fileName);
      if (checked !== undefined && checked.version === version) {
        references.set(fileName, checked.references);
        continue;
      }
      const sourceFile = program.getSourceFile(fileName);
      if (sourceFile === undefined) throw new Error(`the program has no ${fileName}`);
      const found = moduleReferences(this.#setup.typescript, sourceFile);
      references.set(fileName, found);
      changed.add(fileName);
      if (checked === undefined || checked.references.global || found.global) everything = true;
    }

    const recheck = everything ? undefined : this.#withImporters(changed, references);
    const next = new Map<string, CheckedFile>();
    const out: FileDiagnostics[] = [];
    for (const fileName of fileNames) {
      const version = this.#files.get(fileName)?.version ?? "";
      const checked = this.#checked.get(fileName);
      const diagnostics =
        recheck === undefined || recheck.has(fileName) || checked === undefined
          ? {
              path: fileName.slice(this.root.length),
              syntactic: this.#service.getSyntacticDiagnostics(fileName),
              semantic: this.#service.getSemanticDiagnostics(fileName),
            }
          : checked.diagnostics;
      next.set(fileName, { version, references: references.get(fileName) ?? { specifiers: [], global: true }, diagnostics });
      out.push(diagnostics);
    }
    this.#checked = next;
    return out;
  }

  /** `changed` and every file that imports one of them, directly or through others. */
  #withImporters(changed: ReadonlySet<string>, references: ReadonlyMap<string, ModuleReferences>): Set<string> {
    const importers = new Map<string, string[]>();
    for (const [fileName, found] of references) {
      const from = fileName.slice(this.root.length);
      for (const specifier of found.specifiers) {
        const resolved = resolveModSpecifier(from, specifier, this.#relativePaths);
        if (resolved.kind !== "mod") continue;
        const target = this.root + resolved.path;
        const list = importers.get(target);
        if (list === undefined) importers.set(target, [fileName]);
        else list.push(fileName);
      }
    }
    const result = new Set(changed);
    const queue = [...changed];
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
      for (const importer of importers.get(next) ?? []) {
        if (!result.has(importer)) {
          result.add(importer);
          queue.push(importer);
        }
      }
    }
    return result;
  }

  /** The mod-relative path of a file of this project, or undefined for files outside the mod. */
  relativePath(fileName: string): string | undefined {
    return fileName.startsWith(this.root) ? fileName.slice(this.root.length) : undefined;
  }

  /** Releases the language service and its hold on the shared document registry. */
  dispose(): void {
    this.#service.dispose();
  }

  #host(): ts.LanguageServiceHost {
    const { typescript, options, shared } = this.#setup;
    const isModFile = (fileName: string): boolean => fileName.startsWith(this.root);
    return {
      getCompilationSettings: () => options,
      getProjectVersion: () => String(this.#projectVersion),
      getScriptFileNames: () => this.#rootNames,
      getScriptVersion: (fileName) => (isModFile(fileName) ? (this.#files.get(fileName)?.version ?? "") : SharedScriptFiles.VERSION),
      getScriptSnapshot: (fileName) => (isModFile(fileName) ? this.#files.get(fileName)?.snapshot : shared.snapshot(fileName)),
      getCurrentDirectory: () => this.root,
      getDefaultLibFileName: (o) => shared.defaultLibFileName(o),
      useCaseSensitiveFileNames: () => true,
      fileExists: (fileName) => (isModFile(fileName) ? this.#files.has(fileName) : shared.exists(fileName)),
      readFile: (fileName) => (isModFile(fileName) ? this.#files.get(fileName)?.text : shared.read(fileName)),
      // Only asked for when looking for @types packages, which `types: []` turns off.
      getDirectories: () => [],
      directoryExists: (dir) => isModFile(`${dir}/`) || `${dir}/` === LIB_DIR || (typescript.sys.directoryExists?.(dir) ?? false),
      resolveModuleNameLiterals: (literals, containingFile) => literals.map((literal) => this.#resolve(literal.text, containingFile)),
    };
  }

  // The mod's imports resolve exactly as the sandbox's linker resolves them (resolveModSpecifier),
  // so the checker and the runtime never disagree about which file an import names.
  #resolve(specifier: string, containingFile: string): ts.ResolvedModuleWithFailedLookupLocations {
    const { typescript, options, shared } = this.#setup;
    // Left unresolved on purpose: the checker then finds the ambient `declare module` of the SDK
    // (and of the game's merged declarations) instead of a file.
    if (specifier === SDK_SPECIFIER) return { resolvedModule: undefined };
    const from = this.relativePath(containingFile);
    if (from !== undefined) {
      const resolved = resolveModSpecifier(from, specifier, this.#relativePaths);
      if (resolved.kind !== "mod") return { resolvedModule: undefined };
      return { resolvedModule: { resolvedFileName: this.root + resolved.path, extension: typescript.Extension.Ts, isExternalLibraryImport: false } };
    }
    // A game declaration file importing its own siblings: ordinary resolution, read through the store.
    return typescript.resolveModuleName(specifier, containingFile, options, {
      fileExists: (f) => shared.exists(f),
      readFile: (f) => shared.read(f),
    });
  }
}

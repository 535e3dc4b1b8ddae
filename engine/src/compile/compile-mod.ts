import { createHash } from "node:crypto";
import type { Diagnostic } from "../errors/diagnostic.js";
import { compileFile, type FileCompilation } from "./compile-file.js";
import type { CompiledModule, ModuleImport } from "./compiled-module.js";
import type { DiskCompileCache } from "./disk-cache.js";
import { loadTypeScript } from "./load-typescript.js";
import { resolveModSpecifier } from "./resolve-mod-specifier.js";

/** A mod's sources, as the loader read them. */
export interface ModSourceInput {
  readonly modName: string;
  /** The entry module's path, e.g. `main.ts`. */
  readonly entry: string;
  /** Every .ts file of the mod: posix path relative to the mod folder -> source text. */
  readonly files: ReadonlyMap<string, string>;
}

/**
 * The outcome of compiling a mod: the modules reachable from the entry (entry first, then in
 * the order their imports were met) and every finding. `ok` is false when any diagnostic is an
 * error; the modules are still returned, so tools can show what compiled.
 */
export interface CompileResult {
  readonly ok: boolean;
  readonly modules: CompiledModule[];
  readonly diagnostics: Diagnostic[];
  /** sha256 (hex) of the entry, every file's path and text, and the compiler: the version's identity. */
  readonly hash: string;
}

// Part of the hash: bump when compileMod's output changes for the same input and TypeScript
// version (compiler options, source map rewriting), so hashes never name two different outputs.
const COMPILE_REVISION = "modhost-compile-1";

/** Options of `compileMod`; every one may be left out. */
export interface CompileModOptions {
  /**
   * An on-disk cache shared across processes (see `DiskCompileCache`): files are looked up there
   * after memory and written there when compiled. With every file in it, TypeScript is not
   * loaded at all, which is most of a cold start's compile time.
   */
  readonly diskCache?: DiskCompileCache;
}

/**
 * Compiles a mod: transpiles every module reachable from the entry through imports (type-only
 * ones included, since the linker may still be asked for them), checks each import (only files
 * of the mod and `@modhost/sdk`), and runs the safety rules. Files unchanged since an earlier
 * compile come from the cache (and from `options.diskCache`, if given). Findings are data in
 * `diagnostics`; this throws only if the TypeScript compiler cannot be loaded.
 */
export async function compileMod(input: ModSourceInput, options: CompileModOptions = {}): Promise<CompileResult> {
  const compiler = await fileCompiler(options.diskCache);
  const hash = modHash(input, compiler.typescriptVersion);
  const diagnostics: Diagnostic[] = [];
  const modules: CompiledModule[] = [];

  if (!input.files.has(input.entry)) {
    diagnostics.push({
      code: "E_IMPORT_NOT_FOUND",
      severity: "error",
      message: `the entry file "${input.entry}" of mod "${input.modName}" does not exist`,
      file: input.entry,
      field: "entry",
    });
    return { ok: false, modules, diagnostics, hash };
  }

  const paths: ReadonlySet<string> = new Set(input.files.keys());
  const queued = new Set<string>([input.entry]);
  const queue: string[] = [input.entry];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const path = next;
    const text = input.files.get(path) ?? "";
    const compiled = await compiler.compile(path, text);
    diagnostics.push(...compiled.diagnostics);

    const imports: ModuleImport[] = [];
    for (const reference of compiled.imports) {
      const resolved = resolveModSpecifier(path, reference.specifier, paths);
      imports.push({ specifier: reference.specifier, resolved, typeOnly: reference.typeOnly });
      if (resolved.kind === "mod") {
        if (!queued.has(resolved.path)) {
          queued.add(resolved.path);
          queue.push(resolved.path);
        }
      } else if (resolved.kind === "refused" || resolved.kind === "not-found") {
        diagnostics.push({
          code: resolved.kind === "refused" ? "E_IMPORT_REFUSED" : "E_IMPORT_NOT_FOUND",
          severity: "error",
          message: resolved.reason,
          file: path,
          line: reference.line,
          column: reference.column,
        });
      }
    }
    modules.push({ path, js: compiled.js, sourceMap: compiled.sourceMap, imports });
  }

  const ok = !diagnostics.some((d) => d.severity === "error");
  return { ok, modules, diagnostics, hash };
}

/** The version of the TypeScript compiler mods are compiled with (loads it if needed). */
export async function typescriptVersion(): Promise<string> {
  return (await loadTypeScript()).version;
}

/**
 * sha256 over the compiler revision, TypeScript version, entry and each file's path and text
 * in path order. Every part is length-prefixed so no two inputs can produce the same stream.
 */
function modHash(input: ModSourceInput, typescriptVersion: string): string {
  const hash = createHash("sha256");
  const part = (value: string): void => {
    hash.update(`${Buffer.byteLength(value)}:`);
    hash.update(value);
  };
  part(COMPILE_REVISION);
  part(typescriptVersion);
  part(input.entry);
  const paths = [...input.files.keys()].sort();
  for (const path of paths) {
    part(path);
    part(input.files.get(path) ?? "");
  }
  return hash.digest("hex");
}

// ---- The optional disk cache (disk-cache.ts) ----

/** How compileMod compiles one file: with the in-memory cache only, or through a disk cache. */
interface FileCompiler {
  readonly typescriptVersion: string;
  compile(path: string, text: string): FileCompilation | Promise<FileCompilation>;
}

async function fileCompiler(diskCache: DiskCompileCache | undefined): Promise<FileCompiler> {
  if (diskCache !== undefined) {
    // No loadTypeScript() here: the disk cache loads the compiler only for a file it misses.
    return { typescriptVersion: diskCache.typescriptVersion, compile: (path, text) => diskCache.compileFile(COMPILE_REVISION, path, text) };
  }
  const typescript = await loadTypeScript();
  return { typescriptVersion: typescript.version, compile: (path, text) => compileFile(typescript, path, text) };
}

import type { ResolvedSpecifier } from "./resolve-mod-specifier.js";

/** An import of a compiled module and what it resolved to. */
export interface ModuleImport {
  readonly specifier: string;
  readonly resolved: ResolvedSpecifier;
  /** Erased by the transpiler (`import type`...): checked, but absent from `js`. */
  readonly typeOnly: boolean;
}

/**
 * One mod file compiled to an ES module. The sandbox compiles `js` with `path` as its filename,
 * so stack frames name `path` and `sourceMap` (a v3 source map as JSON text, whose `file` and
 * `sources` are both `path`, with the .ts text inlined) maps their positions back to the .ts file.
 */
export interface CompiledModule {
  /** Posix path relative to the mod folder, e.g. `lib/util.ts`. */
  readonly path: string;
  readonly js: string;
  readonly sourceMap: string;
  readonly imports: ModuleImport[];
}

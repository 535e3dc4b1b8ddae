import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { DiskCompileCache } from "../compile/disk-cache.js";
import { TypeCheckProcess } from "../compile/type-check-process.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { ModVersion } from "../compile/mod-version.js";

/** The host's type-check settings (see `ModHostOptions`). */
export interface VersionTypeCheckOptions {
  readonly modTypes: readonly string[];
  readonly budgetMs: number;
  readonly memoryMb: number;
  /** The host's compile cache: a version whose check passed before is not checked again. */
  readonly diskCache?: DiskCompileCache | undefined;
}

/**
 * Type-checks mod versions for the host's lifetime, in a child process with a warm checker (see
 * `TypeCheckProcess`): the child and TypeScript's checker are started on first use only, so
 * hosts that never reload never pay for them, and a slow check never blocks events.
 */
export class VersionTypeCheck {
  readonly #checker: TypeCheckProcess;
  readonly #options: VersionTypeCheckOptions;

  constructor(options: VersionTypeCheckOptions) {
    this.#options = options;
    this.#checker = new TypeCheckProcess({ extraTypeFiles: options.modTypes, budgetMs: options.budgetMs, memoryMb: options.memoryMb });
  }

  /**
   * The version's type errors (E_TYPE, with file/line/column), and the time taken (a first load's
   * check gets the cold budget, typecheckBudgetMs x 5). Rejects with a
   * ModhostError (E_TYPECHECK_BUDGET, E_SOURCE_TOO_COMPLEX...) when the check cannot finish.
   */
  async check(version: ModVersion, options: { readonly firstLoad?: boolean } = {}): Promise<{ errors: ErrorInfo[]; ms: number }> {
    const start = performance.now();
    const name = version.manifest.name;
    // With a cacheDir, a cold start of unchanged mods needs no TypeScript: a pass is remembered.
    const cache = this.#options.diskCache;
    const inputs = cache !== undefined ? this.#verdictInputs(version) : undefined;
    if (cache !== undefined && inputs !== undefined && cache.passed(inputs)) return { errors: [], ms: performance.now() - start };
    // A first load (at start-up, with everything else starting) gets the cold budget; a reload, the budget.
    const diagnostics = await this.#checker.check(name, version.files, { cold: options.firstLoad === true });
    const errors: ErrorInfo[] = diagnostics
      .filter((d) => d.severity === "error")
      .map((d) => ({
        code: "E_TYPE",
        message: d.message,
        mod: name,
        ...(d.file !== undefined ? { file: d.file } : {}),
        ...(d.line !== undefined ? { line: d.line } : {}),
        ...(d.column !== undefined ? { column: d.column } : {}),
      }));
    if (cache !== undefined && inputs !== undefined && errors.length === 0) cache.notePassed(inputs);
    return { errors, ms: performance.now() - start };
  }

  /**
   * What a check's verdict depends on: the mod's name and source texts (not the compiled hash:
   * types are erased, so a type error can compile to the same JS) and the game's declarations.
   * Undefined when a declaration file cannot be read (then the check itself reports it).
   */
  #verdictInputs(version: ModVersion): string[] | undefined {
    const parts = [version.manifest.name];
    for (const [path, text] of [...version.files].sort(([a], [b]) => a.localeCompare(b))) parts.push(path, text);
    for (const file of this.#options.modTypes) {
      try {
        parts.push(file, readFileSync(file, "utf8"));
      } catch (err) {
        // Unreadable now: no verdict to reuse; the worker's own read reports it as the check's error.
        void err;
        return undefined;
      }
    }
    return parts;
  }

  /** Stops the child process and its language services. */
  close(): Promise<void> {
    return this.#checker.close();
  }
}

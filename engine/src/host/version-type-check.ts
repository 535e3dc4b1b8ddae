import { performance } from "node:perf_hooks";
import { ModTypeChecker } from "../compile/type-checker.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { ModVersion } from "./mod-loader.js";

/**
 * Type-checks mod versions with one warm checker for the host's lifetime. TypeScript's checker is
 * created on first use only, so hosts that never reload never pay for it.
 */
export class VersionTypeCheck {
  readonly #modTypes: readonly string[];
  #checker: Promise<ModTypeChecker> | undefined;
  #disposed = false;

  constructor(modTypes: readonly string[]) {
    this.#modTypes = modTypes;
  }

  /** The version's type errors (E_TYPE, with file/line/column), and the time taken. */
  async check(version: ModVersion): Promise<{ errors: ErrorInfo[]; ms: number }> {
    const start = performance.now();
    this.#checker ??= ModTypeChecker.create({ extraTypeFiles: this.#modTypes });
    const checker = await this.#checker;
    const name = version.manifest.name;
    const errors: ErrorInfo[] = checker
      .check(name, version.files)
      .filter((d) => d.severity === "error")
      .map((d) => ({
        code: "E_TYPE",
        message: d.message,
        mod: name,
        ...(d.file !== undefined ? { file: d.file } : {}),
        ...(d.line !== undefined ? { line: d.line } : {}),
        ...(d.column !== undefined ? { column: d.column } : {}),
      }));
    return { errors, ms: performance.now() - start };
  }

  /** Releases the checker's language services. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    void this.#checker?.then((checker) => checker.dispose());
  }
}

import { performance } from "node:perf_hooks";
import { TypeCheckThread } from "../compile/type-check-thread.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { ModVersion } from "../compile/mod-version.js";

/** The host's type-check settings (see `ModHostOptions`). */
export interface VersionTypeCheckOptions {
  readonly modTypes: readonly string[];
  readonly budgetMs: number;
  readonly memoryMb: number;
}

/**
 * Type-checks mod versions for the host's lifetime, in a worker thread with a warm checker (see
 * `TypeCheckThread`): the thread and TypeScript's checker are started on first use only, so hosts
 * that never reload never pay for them, and a slow check never blocks events.
 */
export class VersionTypeCheck {
  readonly #thread: TypeCheckThread;

  constructor(options: VersionTypeCheckOptions) {
    this.#thread = new TypeCheckThread({ extraTypeFiles: options.modTypes, budgetMs: options.budgetMs, memoryMb: options.memoryMb });
  }

  /**
   * The version's type errors (E_TYPE, with file/line/column), and the time taken. Rejects with a
   * ModhostError (E_TYPECHECK_BUDGET, E_SOURCE_TOO_COMPLEX...) when the check cannot finish.
   */
  async check(version: ModVersion): Promise<{ errors: ErrorInfo[]; ms: number }> {
    const start = performance.now();
    const name = version.manifest.name;
    const diagnostics = await this.#thread.check(name, version.files);
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
    return { errors, ms: performance.now() - start };
  }

  /** Stops the worker thread and its language services. */
  close(): Promise<void> {
    return this.#thread.close();
  }
}

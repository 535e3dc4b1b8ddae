/**
 * The version each live instance of a sandbox process would be restored with after a crash: the
 * one it started or was restored with, then each version committed into it (a checkpoint takes
 * the live version). A spare preloads these (backends/process-spare.ts), so that the restores
 * after a crash find their code already loaded. A guess that misses costs only the preload: the
 * restore then loads its version as before.
 */
import type { LoadSpec } from "../model/wire.js";
import { specKey } from "../sandbox/preloaded-versions.js";

export class LiveSpecs {
  readonly #live = new Map<string, LoadSpec>();
  readonly #staged = new Map<string, LoadSpec>();
  /** Keys by spec object (versions are shared by a mod's instances and restores). */
  readonly #keys = new WeakMap<LoadSpec, string>();

  /** An instance started (or restored) with `spec`. */
  started(id: string, spec: LoadSpec): void {
    this.#live.set(id, spec);
  }

  staged(id: string, spec: LoadSpec): void {
    this.#staged.set(id, spec);
  }

  /** The staged version went live (or was dropped: `live` false). */
  committed(id: string, live: boolean): void {
    const spec = this.#staged.get(id);
    this.#staged.delete(id);
    if (live && spec !== undefined && this.#live.has(id)) this.#live.set(id, spec);
  }

  stopped(id: string): void {
    this.#live.delete(id);
    this.#staged.delete(id);
  }

  /** The sandbox process died: nothing lives. */
  clear(): void {
    this.#live.clear();
    this.#staged.clear();
  }

  /** Each live version once, by key (sandbox/preloaded-versions.ts specKey). */
  byKey(): Map<string, LoadSpec> {
    const out = new Map<string, LoadSpec>();
    for (const spec of this.#live.values()) {
      let key = this.#keys.get(spec);
      if (key === undefined) {
        key = specKey(spec);
        this.#keys.set(spec, key);
      }
      out.set(key, spec);
    }
    return out;
  }
}

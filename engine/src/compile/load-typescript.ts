import { createRequire } from "node:module";
import type ts from "typescript";

/** The TypeScript compiler API module. */
export type TypeScript = typeof ts;

let loaded: TypeScript | undefined;
let loading: Promise<TypeScript> | undefined;

/**
 * Loads the TypeScript compiler on first use and only once: it costs ~200 ms, which a host that
 * never compiles (or has not compiled yet) should not pay at import time.
 */
export function loadTypeScript(): Promise<TypeScript> {
  if (loaded !== undefined) return Promise.resolve(loaded);
  loading ??= import("typescript").then(
    (module) => {
      loaded = module.default;
      return loaded;
    },
    (error: unknown) => {
      // Forget the failed attempt so a later call can retry instead of failing forever.
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/**
 * The TypeScript compiler for synchronous callers (e.g. `checkSafety` without a parsed file).
 * Reuses the module `loadTypeScript()` loaded; otherwise loads it through Node's CommonJS loader,
 * whose cache `import()` of a CommonJS package shares, so there is still one copy.
 */
export function loadTypeScriptSync(): TypeScript {
  loaded ??= createRequire(import.meta.url)("typescript") as TypeScript;
  return loaded;
}

import { createRequire } from "node:module";
import type ts from "typescript";

/** The TypeScript compiler API module. */
export type TypeScript = typeof ts;

let loaded: TypeScript | undefined;

/**
 * Loads the TypeScript compiler on first use and only once: it costs ~200 ms, which a host that
 * never compiles (or has not compiled yet) should not pay at import time.
 */
export function loadTypeScript(): Promise<TypeScript> {
  // Through the CommonJS loader, not import(): import() of the 9 MB CommonJS file makes Node scan
  // it for named exports, which costs ~3x the load itself (measured: 650 ms vs 220 ms).
  try {
    return Promise.resolve(loadTypeScriptSync());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
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

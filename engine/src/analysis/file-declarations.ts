import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { TypeScript } from "../compile/load-typescript.js";
import type { FileDeclarations, FileDeclarationsStats } from "./declaration-types.js";
import { FileIndexer } from "./file-indexer.js";

// The data types have a file of their own; re-exported so that the diff keeps importing them from here.
export type { Declaration, ExportedBinding, FileDeclarations, FileDeclarationsStats, ImportedBinding, ModDefinition } from "./declaration-types.js";

const stats = { parsed: 0, cacheHits: 0 };

// A watched mod is re-diffed on every save, mostly with the same files: one parse per distinct
// text. Bounded by source characters (the fingerprints are a small multiple of the text).
const cache = new LRUCache<string, { readonly index: FileDeclarations; readonly size: number }>({
  max: 5_000,
  maxSize: 16 * 1024 * 1024,
  sizeCalculation: (entry) => entry.size,
});

/**
 * Parses one file and fingerprints its declarations, or returns the cached result for the same
 * text (and TypeScript version). Syntax errors are not reported here (the compiler does that):
 * a file that does not parse cleanly is fingerprinted as far as the parser recovered.
 */
export function fileDeclarations(typescript: TypeScript, text: string): FileDeclarations {
  const key = createHash("sha256").update(`${typescript.version}\0${text}`).digest("base64");
  const hit = cache.get(key);
  if (hit !== undefined) {
    stats.cacheHits++;
    return hit.index;
  }
  stats.parsed++;
  const sourceFile = typescript.createSourceFile("mod.ts", text, typescript.ScriptTarget.ES2022, true, typescript.ScriptKind.TS);
  const index = new FileIndexer(typescript, sourceFile).run();
  cache.set(key, { index, size: Math.max(1, text.length * 3) });
  return index;
}

/** How many files were parsed and how many came from the cache. */
export function fileDeclarationsStats(): FileDeclarationsStats {
  return { ...stats };
}

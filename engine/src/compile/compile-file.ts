import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type ts from "typescript";
import { checkSafety } from "./safety-rules.js";
import type { Diagnostic } from "../errors/diagnostic.js";
import { isModhostError } from "../errors/modhost-error.js";
import { findImports, type ImportReference } from "./find-imports.js";
import type { TypeScript } from "./load-typescript.js";
import { checkSourceBounds, checkTreeDepth, isStackOverflow, stackOverflowDiagnostic } from "./source-limits.js";

/**
 * Everything compiling one mod file yields that depends only on its path and text (and the
 * TypeScript version): what `compileMod` caches. Import resolution depends on the mod's other
 * files, so it is done per compile, from `imports`.
 */
export interface FileCompilation {
  readonly js: string;
  /** v3 source map (JSON text) whose `file` and `sources` are the file's path. */
  readonly sourceMap: string;
  readonly imports: readonly ImportReference[];
  /** E_SYNTAX and E_UNSAFE_CODE findings, in that order. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Counters since the process started (or the last `clearCompileCache()`), for tests and metrics. */
export interface CompileStats {
  /** Files actually transpiled. */
  readonly transpiled: number;
  /** Files served from the cache. */
  readonly cacheHits: number;
  /** Files in the cache now. */
  readonly cached: number;
}

const stats = { transpiled: 0, cacheHits: 0 };

// Bounded by characters of output, not entry count: every save of a watched mod adds an entry,
// and a long-running host must not grow without limit. ~2 bytes a char: at most ~64 MB.
const cache = new LRUCache<string, FileCompilation>({
  max: 10_000,
  maxSize: 32 * 1024 * 1024,
  sizeCalculation: (entry) => Math.max(1, entry.js.length + entry.sourceMap.length),
});

// The transpiler's settings. Mods are ES modules linked by the sandbox, which supports ES2022.
function compilerOptions(typescript: TypeScript): ts.CompilerOptions {
  return {
    target: typescript.ScriptTarget.ES2022,
    module: typescript.ModuleKind.ESNext,
    sourceMap: true,
    inlineSources: true,
    newLine: typescript.NewLineKind.LineFeed,
  };
}

/**
 * Parses, checks and transpiles one mod file, or returns the cached result for the same
 * TypeScript version, path and text.
 */
export function compileFile(typescript: TypeScript, path: string, text: string): FileCompilation {
  const key = createHash("sha256").update(`${typescript.version}\0${path}\0${text}`).digest("hex");
  const hit = cache.get(key);
  if (hit !== undefined) {
    stats.cacheHits++;
    return hit;
  }
  stats.transpiled++;

  const entry = compileBounded(typescript, path, text);
  cache.set(key, entry);
  return entry;
}

/**
 * Compiles a file that may be hostile: its size and nesting are bounded before TypeScript parses
 * it (see `SOURCE_LIMITS`), and a stack overflow anywhere in parsing, analysis or transpiling
 * becomes an E_SOURCE_TOO_COMPLEX diagnostic instead of an exception.
 */
function compileBounded(typescript: TypeScript, path: string, text: string): FileCompilation {
  const refused = (diagnostic: Diagnostic): FileCompilation => ({ js: "", sourceMap: normalizeSourceMap(undefined, path), imports: [], diagnostics: [diagnostic] });
  const bounds = checkSourceBounds(typescript, path, text);
  if (bounds !== undefined) return refused(bounds);
  try {
    // One parse for imports and safety rules; transpileModule parses again internally, as its API
    // takes text. The transpile is what the cache saves, so the second parse is rarely paid twice.
    const sourceFile = typescript.createSourceFile(path, text, typescript.ScriptTarget.ES2022, true, typescript.ScriptKind.TS);
    const depth = checkTreeDepth(typescript, path, sourceFile);
    if (depth !== undefined) return refused(depth);
    const imports = findImports(typescript, sourceFile);
    const safety = checkSafety(path, text, sourceFile);

    const output = typescript.transpileModule(text, {
      fileName: path,
      reportDiagnostics: true,
      compilerOptions: compilerOptions(typescript),
    });
    const syntax = (output.diagnostics ?? []).map((d) => toDiagnostic(typescript, path, d));
    return {
      js: stripSourceMappingUrl(output.outputText),
      sourceMap: normalizeSourceMap(output.sourceMapText, path),
      imports,
      diagnostics: [...syntax, ...safety],
    };
  } catch (err) {
    if (isStackOverflow(err)) return refused(stackOverflowDiagnostic(path, "compile"));
    if (isModhostError(err, "E_SOURCE_TOO_COMPLEX")) return refused({ code: err.code, severity: "error", message: `${path}: ${err.message}`, file: path });
    throw err;
  }
}

/** Transpile and cache counters (see `CompileStats`). */
export function compileStats(): CompileStats {
  return { transpiled: stats.transpiled, cacheHits: stats.cacheHits, cached: cache.size };
}

/** Empties the compile cache and resets the counters. */
export function clearCompileCache(): void {
  cache.clear();
  stats.transpiled = 0;
  stats.cacheHits = 0;
}

function toDiagnostic(typescript: TypeScript, path: string, d: ts.Diagnostic): Diagnostic {
  const message = `${typescript.flattenDiagnosticMessageText(d.messageText, "\n")} (TS${d.code})`;
  const severity = d.category === typescript.DiagnosticCategory.Error ? "error" : "warning";
  if (d.file === undefined || d.start === undefined) return { code: "E_SYNTAX", severity, message, file: path };
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return { code: "E_SYNTAX", severity, message, file: path, line: line + 1, column: character };
}

// The comment names a `.js.map` file that does not exist in the sandbox; the map travels beside.
function stripSourceMappingUrl(js: string): string {
  return js.replace(/\n?\/\/# sourceMappingURL=[^\n]*\n?$/, "\n");
}

/** Rewrites the map's `file` and `sources` to the mod-relative path the sandbox uses. */
function normalizeSourceMap(text: string | undefined, path: string): string {
  if (text === undefined) {
    // transpileModule always returns a map when sourceMap is on; an empty one keeps callers total.
    return JSON.stringify({ version: 3, file: path, sources: [path], names: [], mappings: "" });
  }
  const map = JSON.parse(text) as Record<string, unknown>;
  map["file"] = path;
  map["sources"] = [path];
  delete map["sourceRoot"];
  return JSON.stringify(map);
}

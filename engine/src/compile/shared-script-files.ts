import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type ts from "typescript";
import type { TypeScript } from "./load-typescript.js";

/**
 * The folder TypeScript's lib files appear in to every program. Their real folder is inside
 * node_modules, and for a path under node_modules the compiler looks for package.json files (to
 * tell ES modules from CommonJS) on every program update: ~2 ms per re-check for ~90 lib files.
 */
export const LIB_DIR = "/__modhost__/lib/";

/**
 * The files every mod's program shares (TypeScript's lib files, the SDK's declarations, the
 * game's extra declarations, the sandbox globals): read from disk at most once per checker and
 * never changed afterwards, so one version string serves them all and the shared document
 * registry parses each once for every mod. A file changed on disk after its first read is not
 * seen: create a new checker for that. TypeScript's lib files are served under `LIB_DIR`.
 */
export class SharedScriptFiles {
  /** The version every shared file reports: they never change while the checker lives. */
  static readonly VERSION = "0";

  readonly #typescript: TypeScript;
  readonly #realLibDir: string;
  readonly #snapshots = new Map<string, ts.IScriptSnapshot>();
  // Answers are cached, the negative ones too: the program asks about missing files repeatedly.
  readonly #exists = new Map<string, boolean>();
  readonly #missing = new Set<string>();

  constructor(typescript: TypeScript) {
    this.#typescript = typescript;
    this.#realLibDir = dirname(typescript.getDefaultLibFilePath({}));
  }

  /** Where TypeScript's default lib file for `options` appears to programs (under `LIB_DIR`). */
  defaultLibFileName(options: ts.CompilerOptions): string {
    return LIB_DIR + this.#typescript.getDefaultLibFileName(options);
  }

  /** Adds a file whose text does not come from disk (e.g. generated declarations). */
  addVirtual(path: string, text: string): void {
    this.#snapshots.set(path, this.#typescript.ScriptSnapshot.fromString(text));
  }

  /** Reads a file now, so that a missing one fails at once rather than in the first check. */
  preload(path: string): void {
    if (this.snapshot(path) === undefined) throw new Error(`type declarations ${path} do not exist`);
  }

  exists(path: string): boolean {
    if (this.#snapshots.has(path)) return true;
    if (this.#missing.has(path)) return false;
    let exists = this.#exists.get(path);
    if (exists === undefined) {
      exists = existsSync(this.#diskPath(path));
      this.#exists.set(path, exists);
    }
    return exists;
  }

  /** The file's text as a snapshot, or undefined when it does not exist. */
  snapshot(path: string): ts.IScriptSnapshot | undefined {
    let snapshot = this.#snapshots.get(path);
    if (snapshot !== undefined || this.#missing.has(path)) return snapshot;
    let text: string;
    try {
      text = readFileSync(this.#diskPath(path), "utf8");
    } catch (error) {
      // A file that is not there is an answer the compiler expects; any other failure is not.
      if (error instanceof Error && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR")) {
        this.#missing.add(path);
        return undefined;
      }
      throw error;
    }
    snapshot = this.#typescript.ScriptSnapshot.fromString(text);
    this.#snapshots.set(path, snapshot);
    return snapshot;
  }

  #diskPath(path: string): string {
    return path.startsWith(LIB_DIR) ? join(this.#realLibDir, path.slice(LIB_DIR.length)) : path;
  }

  /** The file's text (for the compiler host's `readFile`). */
  read(path: string): string | undefined {
    const snapshot = this.snapshot(path);
    return snapshot?.getText(0, snapshot.getLength());
  }
}

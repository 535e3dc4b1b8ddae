import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LRUCache } from "lru-cache";
import { compileFile, type FileCompilation } from "./compile-file.js";
import { compilerFingerprint } from "./compiler-fingerprint.js";
import { decodeDiskEntry, DISK_ENTRY_FORMAT, encodeDiskEntry } from "./disk-cache-entry.js";
import { loadTypeScript } from "./load-typescript.js";
import { locateSdkPackage } from "./sdk-location.js";
import { installedTypeScriptVersion } from "./typescript-version.js";

/** Options of `DiskCompileCache.open`. */
export interface DiskCompileCacheOptions {
  /** Most entries kept on disk; the least recently used go first (default 5000). */
  readonly maxEntries?: number;
  /** Most bytes of entries kept on disk (default 128 MiB). */
  readonly maxBytes?: number;
  /** The SDK version that is part of every key (default: the installed `@modhost/sdk`'s). */
  readonly sdkVersion?: string;
  /**
   * Told about every unexpected I/O error (a folder that became unwritable, a full disk...), as
   * well as its being recorded in `errors`. The cache goes on working without the failed entry:
   * a compile never fails because of the cache.
   */
  readonly onError?: (error: Error) => void;
}

/** Counters since `open`, for tests and metrics. */
export interface DiskCompileCacheStats {
  /** Files served from disk. */
  readonly diskHits: number;
  /** Files served from the cache's memory (read from or written to disk earlier in this process). */
  readonly memoryHits: number;
  /** Files that had to be compiled. */
  readonly misses: number;
  /** Entries written to disk. */
  readonly writes: number;
  /** Entries found damaged (bad checksum, wrong key, not an entry), then rewritten. */
  readonly corrupt: number;
  /** Entries deleted to stay within `maxEntries`/`maxBytes`. */
  readonly evicted: number;
  /** Unexpected I/O errors (see `errors`). */
  readonly errors: number;
  /** Entries on disk now, as far as this process knows. */
  readonly entries: number;
  /** Bytes of those entries. */
  readonly bytes: number;
}

interface IndexEntry {
  readonly bytes: number;
}

const ENTRY_SUFFIX = ".json";
const TEMP_SUFFIX = ".tmp";
// A temp file this old was left by a writer that died between write and rename.
const STALE_TEMP_MS = 10 * 60 * 1000;
// The last errors kept for `errors`: enough to diagnose, bounded for a long-running host.
const ERRORS_KEPT = 20;

/**
 * An on-disk cache of compiled mod files shared by every process using the same folder, so a
 * cold start reuses what an earlier run compiled. Pass it to `compileMod(input, { diskCache })`.
 *
 * - An entry is keyed by sha256 of the entry format, the TypeScript version, `compileMod`'s
 *   compile revision, the SDK version, a fingerprint of the compile and analysis code, the file's
 *   path and its text. Hits need no compiler: when every file hits, TypeScript is never loaded.
 * - Writes are atomic (temp file, then rename), so readers in other processes never see half an
 *   entry. A damaged entry is a miss and is rewritten; that is counted, not reported.
 * - Unexpected I/O errors (EACCES, ENOSPC, ...) are never thrown into a compile: they are kept in
 *   `errors`, counted and passed to `onError`; the file is compiled as if it had missed.
 * - Bounded: beyond `maxEntries` or `maxBytes` the least recently used entries (by this process's
 *   reads and writes, and by modification time for what it found at open) are deleted.
 *
 * Entries carry the safety rules' verdict, so the folder must be as trusted as the engine's own
 * files: whoever can write it can make unsafe code pass.
 */
export class DiskCompileCache {
  /** The cache folder. */
  readonly dir: string;
  /** The TypeScript version that keys name (that of the package `loadTypeScript` loads). */
  readonly typescriptVersion: string;

  readonly #sdkVersion: string;
  readonly #fingerprint: string;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #onError: ((error: Error) => void) | undefined;
  // Map order is recency: the first entry is the least recently used.
  readonly #index = new Map<string, IndexEntry>();
  #bytes = 0;
  // Entries already decoded (or just compiled) in this process: same bound as compile-file's cache.
  readonly #memory = new LRUCache<string, FileCompilation>({
    max: 10_000,
    maxSize: 32 * 1024 * 1024,
    sizeCalculation: (entry) => Math.max(1, entry.js.length + entry.sourceMap.length),
  });
  readonly #errors: Error[] = [];
  #tempCounter = 0;
  readonly #stats = { diskHits: 0, memoryHits: 0, misses: 0, writes: 0, corrupt: 0, evicted: 0, errors: 0 };

  private constructor(dir: string, options: DiskCompileCacheOptions, sdkVersion: string) {
    this.dir = dir;
    this.typescriptVersion = installedTypeScriptVersion();
    this.#sdkVersion = sdkVersion;
    this.#fingerprint = compilerFingerprint();
    this.#maxEntries = options.maxEntries ?? 5000;
    this.#maxBytes = options.maxBytes ?? 128 * 1024 * 1024;
    this.#onError = options.onError;
  }

  /**
   * Opens (creating it if needed) the cache folder `dir` and indexes its entries (a stat per
   * entry: ~10 ms per thousand). Rejects when the folder cannot be created or listed (e.g.
   * EACCES), or when no `sdkVersion` is given and the `@modhost/sdk` package cannot be found: the
   * caller decides whether to go on without a disk cache. Deletes temp files that writers which
   * died left behind.
   */
  static async open(dir: string, options: DiskCompileCacheOptions = {}): Promise<DiskCompileCache> {
    mkdirSync(dir, { recursive: true });
    const cache = new DiskCompileCache(dir, options, options.sdkVersion ?? locateSdkPackage().version);
    cache.#scan();
    cache.#evict();
    return cache;
  }

  /** The key of a file's entry: sha256 (hex) of everything its compiled form depends on. */
  key(compileRevision: string, path: string, text: string): string {
    const hash = createHash("sha256");
    // Length-prefixed parts: no two different inputs produce the same stream.
    for (const part of [DISK_ENTRY_FORMAT, this.typescriptVersion, compileRevision, this.#sdkVersion, this.#fingerprint, path, text]) {
      hash.update(`${Buffer.byteLength(part)}:`);
      hash.update(part);
    }
    return hash.digest("hex");
  }

  /**
   * Compiles one mod file through the cache: from memory, else from disk, else with the compiler
   * (loaded only now), writing the result to disk. `compileRevision` is `compileMod`'s.
   */
  async compileFile(compileRevision: string, path: string, text: string): Promise<FileCompilation> {
    const key = this.key(compileRevision, path, text);
    const remembered = this.#memory.get(key);
    if (remembered !== undefined) {
      this.#stats.memoryHits++;
      this.#touch(key);
      return remembered;
    }
    const stored = this.#read(key);
    if (stored !== undefined) {
      this.#stats.diskHits++;
      this.#memory.set(key, stored);
      return stored;
    }
    this.#stats.misses++;
    const typescript = await loadTypeScript();
    const compiled = compileFile(typescript, path, text);
    if (typescript.version === this.typescriptVersion) {
      this.#write(key, compiled);
    } else {
      // Never seen in practice; but an entry under a key naming another version would be a lie.
      this.#record(new Error(`the loaded TypeScript is ${typescript.version}, its package.json says ${this.typescriptVersion}: not caching`));
    }
    this.#memory.set(key, compiled);
    return compiled;
  }

  /**
   * Has a type-check of exactly these inputs passed before (recorded by `notePassed`)? `parts`
   * name everything the verdict depends on (the version's hash, the game's declaration texts);
   * the key adds the TypeScript and SDK versions and the engine's fingerprint. A pass is kept as
   * an empty entry, bounded and checksummed like the compiled files.
   */
  passed(parts: readonly string[]): boolean {
    const key = this.#verdictKey(parts);
    if (this.#memory.get(key) !== undefined) return true;
    const stored = this.#read(key);
    if (stored !== undefined) this.#memory.set(key, stored);
    return stored !== undefined;
  }

  /** Records that a type-check of these inputs passed (see `passed`). */
  notePassed(parts: readonly string[]): void {
    const key = this.#verdictKey(parts);
    const entry: FileCompilation = { js: "", sourceMap: "", imports: [], diagnostics: [] };
    this.#write(key, entry);
    this.#memory.set(key, entry);
  }

  #verdictKey(parts: readonly string[]): string {
    return this.key("type-check-passed", "", parts.map((part) => `${Buffer.byteLength(part)}:${part}`).join(""));
  }

  /** Counters since `open`. */
  stats(): DiskCompileCacheStats {
    return { ...this.#stats, entries: this.#index.size, bytes: this.#bytes };
  }

  /** The most recent unexpected I/O errors (at most 20), oldest first. */
  get errors(): readonly Error[] {
    return [...this.#errors];
  }

  #file(key: string): string {
    return join(this.dir, key + ENTRY_SUFFIX);
  }

  #read(key: string): FileCompilation | undefined {
    let text: string;
    try {
      text = readFileSync(this.#file(key), "utf8");
    } catch (error) {
      // ENOENT is an ordinary miss (never written, or evicted by another process); anything else
      // is unexpected. Either way the index must stop counting the entry.
      if (errorCode(error) !== "ENOENT") this.#record(error);
      this.#forget(key);
      return undefined;
    }
    const entry = decodeDiskEntry(key, text);
    if (entry === undefined) {
      this.#stats.corrupt++;
      return undefined;
    }
    this.#touch(key);
    return entry;
  }

  #write(key: string, entry: FileCompilation): void {
    const text = encodeDiskEntry(key, entry);
    const temp = join(this.dir, `${key}.${process.pid}.${++this.#tempCounter}${TEMP_SUFFIX}`);
    try {
      writeFileSync(temp, text);
      renameSync(temp, this.#file(key));
    } catch (error) {
      this.#record(error);
      try {
        unlinkSync(temp);
      } catch (cleanup) {
        // ENOENT: the write itself failed before creating it; nothing to clean up.
        if (errorCode(cleanup) !== "ENOENT") this.#record(cleanup);
      }
      return;
    }
    this.#stats.writes++;
    this.#forget(key);
    const bytes = Buffer.byteLength(text);
    this.#index.set(key, { bytes });
    this.#bytes += bytes;
    this.#evict();
  }

  /** Lists the folder: entries by modification time (oldest first), stale temp files deleted. */
  #scan(): void {
    const found: Array<{ key: string; bytes: number; mtimeMs: number }> = [];
    const now = Date.now();
    for (const name of readdirSync(this.dir)) {
      const isEntry = name.endsWith(ENTRY_SUFFIX);
      if (!isEntry && !name.endsWith(TEMP_SUFFIX)) continue; // not ours: leave it alone
      const file = join(this.dir, name);
      let stat;
      try {
        stat = statSync(file);
      } catch (error) {
        // Gone between listing and stat: another process evicted or renamed it.
        if (errorCode(error) !== "ENOENT") this.#record(error);
        continue;
      }
      if (isEntry) {
        found.push({ key: name.slice(0, -ENTRY_SUFFIX.length), bytes: stat.size, mtimeMs: stat.mtimeMs });
      } else if (now - stat.mtimeMs > STALE_TEMP_MS) {
        this.#unlink(file);
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const { key, bytes } of found) {
      this.#index.set(key, { bytes });
      this.#bytes += bytes;
    }
  }

  #evict(): void {
    for (const [key] of this.#index) {
      if (this.#index.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#forget(key);
      this.#memory.delete(key);
      if (this.#unlink(this.#file(key))) this.#stats.evicted++;
    }
  }

  #touch(key: string): void {
    const entry = this.#index.get(key);
    if (entry === undefined) return;
    this.#index.delete(key);
    this.#index.set(key, entry);
  }

  #forget(key: string): void {
    const entry = this.#index.get(key);
    if (entry === undefined) return;
    this.#index.delete(key);
    this.#bytes -= entry.bytes;
  }

  /** Deletes a file; true if it did, false if it was already gone or could not be (recorded). */
  #unlink(file: string): boolean {
    try {
      unlinkSync(file);
      return true;
    } catch (error) {
      if (errorCode(error) !== "ENOENT") this.#record(error);
      return false;
    }
  }

  #record(error: unknown): void {
    const recorded = error instanceof Error ? error : new Error(String(error));
    this.#stats.errors++;
    this.#errors.push(recorded);
    if (this.#errors.length > ERRORS_KEPT) this.#errors.shift();
    this.#onError?.(recorded);
  }
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

import { statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { trackResource } from "../util/resource-registry.js";
import { DirectoryWatchTree } from "../watch/directory-watch-tree.js";
import { isIgnoredName, isReloadRelevant, isSkippedDirectory } from "../watch/path-filters.js";

/**
 * Watches one mod folder (for `modhost dev`) and calls `onChange` once per burst of saves that
 * touched its mod.json or a .ts file, with the same filters as the host's own watcher: editors'
 * temp, swap and backup files never count, the final rename of an atomic save does. Folders are
 * watched one by one (no recursive fs.watch), node_modules and dist are not descended into.
 */
export class ModFolderWatch {
  readonly #dir: string;
  readonly #tree: DirectoryWatchTree;
  readonly #debounceMs: number;
  readonly #onChange: () => void;
  readonly #onError: (error: Error) => void;
  readonly #untrack: () => void;
  #timer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;

  private constructor(dir: string, debounceMs: number, onChange: () => void, onError: (error: Error) => void) {
    this.#dir = dir;
    this.#debounceMs = debounceMs;
    this.#onChange = onChange;
    this.#onError = onError;
    this.#tree = new DirectoryWatchTree((folder, filename) => this.#onEvent(folder, filename), onError, isSkippedDirectory);
    this.#untrack = trackResource("watcher");
  }

  /**
   * Starts watching `dir`; rejects with E_MODS_DIR when it is not a folder that can be watched.
   * @param onChange called once per settled burst of relevant changes, never after close().
   * @param onError called for sub-folders that cannot be watched; must not throw.
   */
  static async create(dir: string, debounceMs: number, onChange: () => void, onError: (error: Error) => void): Promise<ModFolderWatch> {
    const root = resolve(dir);
    const watch = new ModFolderWatch(root, debounceMs, onChange, onError);
    if (watch.#tree.watchTree(root) === undefined) {
      await watch.close();
      throw new ModhostError("E_MODS_DIR", `cannot watch ${root}: not a folder`);
    }
    return watch;
  }

  /** Stops watching; idempotent. Once it resolves, no callback fires and every handle is released. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#tree.closeAll();
      // FSWatcher.close() finishes in libuv's close phase: two setImmediate hops get past it.
      await new Promise<void>((done) => setImmediate(done));
      await new Promise<void>((done) => setImmediate(done));
      this.#untrack();
    })();
    return this.#closed;
  }

  #onEvent(folder: string, filename: string | null): void {
    if (this.#closed !== undefined) return;
    if (filename === null) return this.#touch();
    if (isIgnoredName(filename)) return;
    const path = join(folder, filename);
    let isDirectory = false;
    try {
      isDirectory = statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
    } catch (err) {
      // Neither there nor gone (EACCES...): treat it as a change of unknown content.
      this.#onError(new ModhostError("E_MODS_DIR", `cannot check ${path}: ${messageOf(err)}`, {}, { cause: err }));
      return this.#touch();
    }
    if (isDirectory) {
      if (isSkippedDirectory(filename)) return;
      this.#tree.watchTree(path);
      return this.#touch();
    }
    if (this.#tree.has(path)) {
      this.#tree.unwatchTree(path);
      return this.#touch();
    }
    if (isReloadRelevant(relative(this.#dir, path).split(sep))) this.#touch();
  }

  #touch(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed === undefined) this.#onChange();
    }, this.#debounceMs);
  }
}

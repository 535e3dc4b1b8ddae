import { lstatSync, readdirSync, statSync, watch, type Dirent, type FSWatcher } from "node:fs";
import { join, sep } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { isMissingEntryError } from "./missing-entry.js";

/**
 * Called for every event of a watched folder: `filename` is the entry of `dir` that changed, or
 * null when the folder's watcher had to be dropped (error) and the caller cannot know what changed.
 * On Linux an event on the folder itself (deleted, moved, chmod) carries the folder's own basename.
 */
export type DirectoryEventListener = (dir: string, filename: string | null) => void;

interface WatchedDirectory {
  readonly watcher: FSWatcher;
  readonly dev: number;
  readonly ino: number;
}

/**
 * One non-recursive `fs.watch` per folder of a tree, keyed by absolute path.
 *
 * Why not `fs.watch(dir, { recursive: true })`: on Linux, Node 20 emulates it in JavaScript with
 * one inotify watch per file and per folder. A watch on a file follows its inode, so after the
 * first atomic save (write temp + rename over the file) later in-place writes to that file are not
 * reported at all; it also descends into node_modules, and cannot be told to skip anything.
 * Watching folders only gets every entry's create/modify/delete/rename by name, survives atomic
 * saves, and lets us stay out of skipped folders.
 *
 * Everything here is synchronous on purpose: a folder is watched before it is listed, in the same
 * turn as the event that revealed it, so no entry created in between can slip through, and the
 * set of watchers never interleaves with the processing of another event or with close().
 */
export class DirectoryWatchTree {
  readonly #dirs = new Map<string, WatchedDirectory>();
  readonly #onEvent: DirectoryEventListener;
  readonly #onError: (error: Error) => void;
  readonly #skipDirectory: (name: string) => boolean;
  #closed = false;

  /**
   * @param onEvent receives every event of every watched folder still in the tree.
   * @param onError receives what could not be watched or listed (the tree goes on without it).
   * @param skipDirectory folders (by name) not to descend into.
   */
  constructor(onEvent: DirectoryEventListener, onError: (error: Error) => void, skipDirectory: (name: string) => boolean) {
    this.#onEvent = onEvent;
    this.#onError = onError;
    this.#skipDirectory = skipDirectory;
  }

  /** Is `dir` watched right now? */
  has(dir: string): boolean {
    return this.#dirs.has(dir);
  }

  /** How many folders are watched. */
  get size(): number {
    return this.#dirs.size;
  }

  /**
   * (Re)watches `dir` and every folder below it that is not skipped, dropping whatever was watched
   * there before: after a delete + re-create the old watcher is on a dead inode (which the new one
   * may even reuse), so an existing watcher is never trusted. Symbolic links are not followed.
   *
   * @returns the files (absolute paths) found in the folders just watched, so that the caller can
   *   tell whether content arrived before the watchers did; undefined when `dir` is not a folder
   *   (any more) or could not be watched.
   */
  watchTree(dir: string): string[] | undefined {
    this.unwatchTree(dir);
    if (this.#closed) return undefined;
    const files: string[] = [];
    return this.#watchRecursively(dir, files) ? files : undefined;
  }

  /** Stops watching `dir` and every folder below it. */
  unwatchTree(dir: string): void {
    const prefix = dir.endsWith(sep) ? dir : dir + sep;
    for (const [path, watched] of this.#dirs) {
      if (path !== dir && !path.startsWith(prefix)) continue;
      this.#dirs.delete(path);
      watched.watcher.close();
    }
  }

  /**
   * Is `dir` still the very folder that was watched (same device and inode)? False when it was
   * deleted, moved away or replaced; also false when it is not watched.
   */
  isCurrent(dir: string): boolean {
    const watched = this.#dirs.get(dir);
    if (watched === undefined) return false;
    try {
      const stats = statSync(dir, { throwIfNoEntry: false });
      return stats !== undefined && stats.isDirectory() && stats.dev === watched.dev && stats.ino === watched.ino;
    } catch (error) {
      // Neither present nor absent (EACCES on a parent, ELOOP...): say so, and keep the watcher
      // rather than tear down a tree that may well still be there.
      this.#onError(watchError("check", dir, error));
      return true;
    }
  }

  /** Closes every watcher; the tree accepts no new ones afterwards. */
  closeAll(): void {
    this.#closed = true;
    for (const { watcher } of this.#dirs.values()) watcher.close();
    this.#dirs.clear();
  }

  #watchRecursively(dir: string, files: string[]): boolean {
    let stats;
    try {
      stats = lstatSync(dir, { throwIfNoEntry: false });
    } catch (error) {
      this.#onError(watchError("check", dir, error));
      return false;
    }
    if (stats === undefined || !stats.isDirectory()) return false;

    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: true }, (_eventType, filename) => {
        // Events already queued for a watcher that was dropped or replaced describe a folder that
        // is no longer the one at this path.
        if (this.#dirs.get(dir)?.watcher === watcher) this.#onEvent(dir, filename);
      });
    } catch (error) {
      // ENOENT: deleted between lstat and watch, which its parent's event will report. Anything
      // else (ENOSPC: inotify watches exhausted, EACCES) leaves this folder unwatched.
      if (!isMissingEntryError(error)) this.#onError(watchError("watch", dir, error));
      return false;
    }
    watcher.on("error", (error: Error) => {
      if (this.#dirs.get(dir)?.watcher !== watcher) return;
      this.#dirs.delete(dir);
      watcher.close();
      this.#onError(watchError("watch", dir, error));
      this.#onEvent(dir, null);
    });
    this.#dirs.set(dir, { watcher, dev: stats.dev, ino: stats.ino });

    // Listed after the watcher exists: an entry created in between shows up here, in an event,
    // or in both (callers merge duplicates), never in neither.
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissingEntryError(error)) {
        this.unwatchTree(dir);
        return false;
      }
      this.#onError(watchError("list", dir, error));
      return true;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!this.#skipDirectory(entry.name)) this.#watchRecursively(path, files);
      } else {
        files.push(path);
      }
    }
    return true;
  }
}

/** A watch problem as a ModhostError with the OS code and, where the operator can fix it, how. */
function watchError(action: "watch" | "list" | "check", path: string, cause: unknown): ModhostError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const hint = code === "ENOSPC" ? " (inotify watch limit reached: raise fs.inotify.max_user_watches)" : "";
  return new ModhostError("E_MODS_DIR", `cannot ${action} ${path}: ${messageOf(cause)}${hint}`, {}, { cause });
}

import { lstatSync, readdirSync, statSync, type Dirent } from "node:fs";
import { stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { trackResource } from "../util/resource-registry.js";
import { DirectoryWatchTree } from "./directory-watch-tree.js";
import { KeyedDebouncer } from "./keyed-debouncer.js";
import { isMissingEntryError } from "./missing-entry.js";
import { isIgnoredName, isReloadRelevant, isSkippedDirectory } from "./path-filters.js";

/** What happened to one mod folder during a burst of file-system events. */
export type ModFolderChange =
  /** A .ts file or the mod.json of a folder that was and still is a mod changed. */
  | { readonly kind: "changed"; readonly dir: string }
  /** A folder became a mod: it appeared with a mod.json, or its mod.json appeared. */
  | { readonly kind: "added"; readonly dir: string }
  /** A mod folder, or its mod.json, disappeared. */
  | { readonly kind: "removed"; readonly dir: string };

/** Options of {@link ModsWatcher.create}. */
export interface ModsWatcherOptions {
  /** Quiet time after the last event of a burst before reporting (default 25 ms). */
  readonly debounceMs?: number;
}

const DEFAULT_DEBOUNCE_MS = 25;

/**
 * Watches a mods folder (one sub-folder per mod, each with a mod.json) and reports, per mod
 * folder and per burst of saves, whether it was added, removed or changed.
 *
 * - One report per mod folder per burst: events are debounced per folder, so a save of five files
 *   gives one "changed", and a burst in one mod never delays another's report.
 * - Only .ts files (anywhere in the mod, outside node_modules, dist and dot-folders) and the
 *   top-level mod.json count as changes; editors' temp, swap, probe and backup files never do, but
 *   the final rename of an atomic save onto `main.ts` does.
 * - "added"/"removed" compare whether `<dir>/mod.json` exists when the burst settles with whether
 *   the folder was a mod before (known mods are scanned at create()).
 * - Problems (a folder that cannot be watched or listed, the inotify limit, modsDir itself
 *   disappearing) go to `onError`; the watcher goes on with whatever it can still watch.
 *
 * Mod folders are real directories directly inside modsDir whose name is not a dotfile, editor
 * noise, node_modules or dist; symbolic links are not followed (as the loader does not follow
 * them either).
 */
export class ModsWatcher {
  readonly #root: string;
  readonly #onChange: (change: ModFolderChange) => void;
  readonly #onError: (error: Error) => void;
  readonly #tree: DirectoryWatchTree;
  /** Per mod folder name: whether a reload-relevant file changed during the burst. */
  readonly #debouncer: KeyedDebouncer<string, boolean>;
  /** Names of the folders of modsDir known to be mods, as last reported. */
  readonly #knownMods = new Set<string>();
  readonly #untrack: () => void;
  #rootLost = false;
  /** Set once the initial scan is done: errors before it belong to create(). */
  #started = false;
  #closed: Promise<void> | undefined;

  private constructor(root: string, debounceMs: number, onChange: (change: ModFolderChange) => void, onError: (error: Error) => void) {
    this.#root = root;
    this.#onChange = onChange;
    this.#onError = onError;
    this.#tree = new DirectoryWatchTree((dir, filename) => this.#onDirectoryEvent(dir, filename), onError, isSkippedDirectory);
    this.#debouncer = new KeyedDebouncer(debounceMs, (mod, contentChanged) => this.#settle(mod, contentChanged));
    this.#untrack = trackResource("watcher");
  }

  /**
   * Starts watching `modsDir`. Rejects with E_MODS_DIR when modsDir is not a folder that can be
   * watched, and with E_OPTIONS_INVALID for a bad `debounceMs`.
   *
   * @param onChange called once per mod folder per settled burst, never after close() resolves.
   * @param onError called for everything that could not be watched; defaults to a process
   *   warning. It must not throw.
   */
  static async create(
    modsDir: string,
    options: ModsWatcherOptions,
    onChange: (change: ModFolderChange) => void,
    onError?: (error: Error) => void,
  ): Promise<ModsWatcher> {
    const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    if (!Number.isFinite(debounceMs) || debounceMs < 0) {
      throw new ModhostError("E_OPTIONS_INVALID", `debounceMs must be a finite number >= 0, got ${String(debounceMs)}`, { field: "debounceMs" });
    }
    const root = resolve(modsDir);
    let rootStats;
    try {
      rootStats = await stat(root);
    } catch (error) {
      throw new ModhostError("E_MODS_DIR", `cannot watch modsDir ${root}: ${messageOf(error)}`, {}, { cause: error });
    }
    if (!rootStats.isDirectory()) throw new ModhostError("E_MODS_DIR", `cannot watch modsDir ${root}: not a folder`);

    // Errors met while starting up (a sub-folder that cannot be listed) are not fatal: they go to
    // onError like later ones. Only an unwatchable root is, and it is rethrown below instead.
    const startErrors: Error[] = [];
    const report = onError ?? warn;
    const watcher = new ModsWatcher(root, debounceMs, onChange, (error) => {
      if (watcher.#started) report(error);
      else startErrors.push(error);
    });
    if (!watcher.#start()) {
      await watcher.close();
      throw startErrors[0] ?? new ModhostError("E_MODS_DIR", `cannot watch modsDir ${root}: it disappeared while starting`);
    }
    for (const error of startErrors) report(error);
    return watcher;
  }

  /** Watches the whole tree, then records which folders are mods; false when root is unwatchable. */
  #start(): boolean {
    // Watch first, scan second: a mod created while scanning is either seen by the scan (known,
    // no report) or by an event (a report at settle time), never missed.
    if (this.#tree.watchTree(this.#root) === undefined) return false;
    for (const mod of this.#childFolders()) if (this.#hasManifest(mod) === true) this.#knownMods.add(mod);
    this.#started = true;
    return true;
  }

  /**
   * Stops watching. Idempotent; once the returned promise resolves, no callback fires any more and
   * every watcher handle has been released.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#debouncer.cancelAll();
      this.#tree.closeAll();
      // fs.FSWatcher.close() only schedules the handle's close: libuv finishes it in the "close
      // callbacks" phase, which follows the "check" phase of the same loop iteration. Two
      // setImmediate hops put us past it, so no handle is reported open after we resolve.
      await new Promise<void>((done) => setImmediate(done));
      await new Promise<void>((done) => setImmediate(done));
      this.#untrack();
    })();
    return this.#closed;
  }

  #onDirectoryEvent(dir: string, filename: string | null): void {
    if (this.#closed !== undefined || this.#rootLost) return;
    if (dir === this.#root) {
      this.#onRootEvent(filename);
      return;
    }
    const [mod, ...inside] = relative(this.#root, dir).split(sep);
    if (mod === undefined) return;
    if (filename === null) {
      // The folder's watcher was dropped after an error: what changed is unknown, so assume the
      // worst (a reload of unchanged code is harmless, a missed one is not).
      this.#touch(mod, true);
      return;
    }
    if (isIgnoredName(filename)) return;
    const path = join(dir, filename);
    const kind = this.#entryKind(path);
    if (kind === "directory") {
      if (isSkippedDirectory(filename)) return;
      // A new (or re-created) folder: its content may have been written before it was watched.
      const files = this.#tree.watchTree(path);
      if (files?.some((file) => this.#isRelevant(file)) === true) this.#touch(mod, true);
      return;
    }
    if (this.#tree.has(path)) {
      // A watched folder vanished, was moved away or replaced by a file: whatever .ts it held is
      // gone from the mod.
      this.#tree.unwatchTree(path);
      this.#touch(mod, true);
      return;
    }
    if (isReloadRelevant([...inside, filename])) this.#touch(mod, true);
  }

  #onRootEvent(filename: string | null): void {
    if (!this.#tree.isCurrent(this.#root)) {
      this.#loseRoot();
      return;
    }
    if (filename === null) {
      // The root's watcher was dropped after an error: re-check every folder we know of, since
      // nothing more will come from modsDir itself.
      for (const mod of new Set([...this.#knownMods, ...this.#childFolders()])) this.#touch(mod, false);
      return;
    }
    if (isSkippedDirectory(filename)) return;
    const path = join(this.#root, filename);
    let contentChanged = false;
    if (this.#entryKind(path) === "directory") {
      // Created, moved in, re-created or chmod-ed: watch it afresh. Content found by the scan
      // matters only for a folder that stays a mod ("changed"); "added" is decided at settle time.
      const files = this.#tree.watchTree(path);
      contentChanged = files?.some((file) => this.#isRelevant(file)) === true;
    } else if (this.#tree.has(path)) {
      this.#tree.unwatchTree(path);
    } else if (!this.#knownMods.has(filename)) {
      return; // a plain file in modsDir: not a mod
    }
    this.#touch(filename, contentChanged);
  }

  /** modsDir is gone (deleted or moved): report it once, and report its mods as removed. */
  #loseRoot(): void {
    this.#rootLost = true;
    this.#tree.closeAll();
    this.#onError(new ModhostError("E_MODS_DIR", `modsDir ${this.#root} disappeared: no longer watching it`));
    for (const mod of this.#knownMods) this.#touch(mod, false);
  }

  #touch(mod: string, contentChanged: boolean): void {
    this.#debouncer.touch(mod, (pending) => pending === true || contentChanged);
  }

  /** A burst in `mod` is over: compare what is on disk now with what we knew, and report. */
  #settle(mod: string, contentChanged: boolean): void {
    if (this.#closed !== undefined) return;
    const hasManifest = this.#hasManifest(mod);
    if (hasManifest === undefined) return; // unknowable right now; already reported via onError
    const dir = join(this.#root, mod);
    const wasMod = this.#knownMods.has(mod);
    if (hasManifest && !wasMod) {
      this.#knownMods.add(mod);
      this.#emit({ kind: "added", dir });
    } else if (!hasManifest && wasMod) {
      this.#knownMods.delete(mod);
      this.#emit({ kind: "removed", dir });
    } else if (hasManifest && contentChanged) {
      this.#emit({ kind: "changed", dir });
    }
  }

  #emit(change: ModFolderChange): void {
    try {
      this.#onChange(change);
    } catch (error) {
      // A throwing listener must not take the watcher (or the process, from a timer) down.
      this.#onError(new ModhostError("E_INTERNAL", `the mods watcher's change listener threw on ${change.kind} ${change.dir}: ${messageOf(error)}`, {}, { cause: error }));
    }
  }

  /** Is `mod` a real folder of modsDir holding a mod.json file? undefined when that cannot be told. */
  #hasManifest(mod: string): boolean | undefined {
    const dir = join(this.#root, mod);
    try {
      if (lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() !== true) return false;
      return statSync(join(dir, "mod.json"), { throwIfNoEntry: false })?.isFile() === true;
    } catch (error) {
      if (isMissingEntryError(error)) return false;
      this.#onError(new ModhostError("E_MODS_DIR", `cannot check ${join(dir, "mod.json")}: ${messageOf(error)}`, {}, { cause: error }));
      return undefined;
    }
  }

  /** The names of the candidate mod folders directly inside modsDir (empty if it cannot be read). */
  #childFolders(): string[] {
    let entries: Dirent[];
    try {
      entries = readdirSync(this.#root, { withFileTypes: true });
    } catch (error) {
      this.#onError(new ModhostError("E_MODS_DIR", `cannot list modsDir ${this.#root}: ${messageOf(error)}`, {}, { cause: error }));
      return [];
    }
    return entries.filter((entry) => entry.isDirectory() && !isSkippedDirectory(entry.name)).map((entry) => entry.name);
  }

  #isRelevant(file: string): boolean {
    const [, ...inside] = relative(this.#root, file).split(sep);
    return isReloadRelevant(inside);
  }

  #entryKind(path: string): "directory" | "other" | "missing" {
    try {
      const stats = lstatSync(path, { throwIfNoEntry: false });
      if (stats === undefined) return "missing";
      return stats.isDirectory() ? "directory" : "other";
    } catch (error) {
      if (isMissingEntryError(error)) return "missing";
      // Cannot tell what it is: report it, and treat it as a file so that a relevant name still
      // counts as a change.
      this.#onError(new ModhostError("E_MODS_DIR", `cannot check ${path}: ${messageOf(error)}`, {}, { cause: error }));
      return "other";
    }
  }
}

/** The default onError: visible in the process's warnings, never fatal. */
function warn(error: Error): void {
  process.emitWarning(error);
}

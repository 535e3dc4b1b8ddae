/**
 * Which names in a mods folder the watcher pays attention to. Editors surround a save with probe,
 * swap, backup and temp files; none of them is part of a mod, so none may trigger a reload by
 * itself. The final rename onto the real file name is what counts.
 */

/** Folders never descended into: build output and tooling, potentially huge (inotify watches). */
const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(["node_modules", "dist", ".git"]);

/**
 * Names editors use around a save: vim's `4913` write probe, `file~` backups, `.file.swp`/`.swx`
 * swap files, `file.tmp` and `file.ts.tmp-123` temp files, JetBrains' `___jb_tmp___`/`___jb_old___`
 * and emacs' `#file#` autosaves. Dotfiles (`.#file` locks, `.git`, `.DS_Store`) too.
 */
const EDITOR_NOISE = /(?:~|\.swp|\.swx|\.tmp(?:[-.]?\d+)?|___jb_(?:tmp|old)___)$/;

/** Is `name` (one path segment) a dotfile or an editor's temp, swap, probe or backup file? */
export function isIgnoredName(name: string): boolean {
  if (name.startsWith(".") || name === "4913") return true;
  if (name.startsWith("#") && name.endsWith("#")) return true;
  return EDITOR_NOISE.test(name);
}

/** Should the watcher stay out of the folder called `name` (one path segment)? */
export function isSkippedDirectory(name: string): boolean {
  return SKIPPED_DIRECTORIES.has(name) || isIgnoredName(name);
}

/**
 * Does a change to the file at `segments` (path inside the mod folder, split into segments) reload
 * the mod? Only the manifest at the mod's top level and .ts files outside skipped folders do: a
 * README or an asset edit must not swap code.
 */
export function isReloadRelevant(segments: readonly string[]): boolean {
  const name = segments[segments.length - 1];
  if (name === undefined || isIgnoredName(name)) return false;
  for (let i = 0; i < segments.length - 1; i++) {
    const folder = segments[i];
    if (folder !== undefined && isSkippedDirectory(folder)) return false;
  }
  if (segments.length === 1 && name === "mod.json") return true;
  return name.endsWith(".ts");
}

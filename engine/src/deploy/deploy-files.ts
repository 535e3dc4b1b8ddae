import { readFile, readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";

/**
 * Which files a deploy carries, shared by the client that reads them and the server that writes
 * them: `mod.json` at the top of the mod, and every `.ts` file the loader compiles (so not `.d.ts`,
 * tests, dot-files, or anything under node_modules, dist, test, tests or __tests__).
 */

/** Most files in one deploy. */
export const MAX_DEPLOY_FILES = 1000;
/** Largest file in a deploy, in characters (the loader's own limit is 4 MiB). */
export const MAX_DEPLOY_FILE_CHARS = 4 * 1024 * 1024;
/** Deepest folder nesting inside a mod. */
const MAX_DEPTH = 16;

const SKIPPED_DIRS = new Set(["node_modules", "dist", "test", "tests", "__tests__"]);
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Is `path` (posix, relative to the mod folder) a file the loader would read from a mod folder? */
export function isSourcePath(path: string): boolean {
  const segments = path.split("/");
  const name = segments[segments.length - 1] ?? "";
  if (!name.endsWith(".ts") || name.endsWith(".d.ts") || /\.(test|spec)\.ts$/.test(name)) return false;
  return segments.slice(0, -1).every((folder) => !SKIPPED_DIRS.has(folder) && !folder.startsWith("."));
}

/**
 * Why `path` cannot be a deployed file, or undefined when it can: it must be `mod.json` or a source
 * path made of plain segments (letters, digits, `.`, `_`, `-`, not starting with a dot), relative,
 * without `..`, backslashes or empty segments, at most 16 folders deep.
 */
export function deployPathProblem(path: string): string | undefined {
  if (path === "mod.json") return undefined;
  const segments = path.split("/");
  if (segments.length > MAX_DEPTH + 1) return `${JSON.stringify(path)} is nested more than ${MAX_DEPTH} folders deep`;
  if (!segments.every((s) => SEGMENT.test(s))) return `${JSON.stringify(path)} is not a plain relative path inside the mod (letters, digits, ".", "_", "-"; no "..", no leading "/" or ".")`;
  if (!isSourcePath(path)) return `${JSON.stringify(path)} is not a file a mod is made of (mod.json, or a .ts file other than .d.ts and tests)`;
  return undefined;
}

/** Checks a deploy's file map (paths, count, sizes, mod.json present); throws E_DEPLOY_REFUSED. */
export function checkDeployFiles(files: Readonly<Record<string, string>>): void {
  const paths = Object.keys(files);
  if (!paths.includes("mod.json")) throw new ModhostError("E_DEPLOY_REFUSED", "a deploy must carry the mod's mod.json", { field: "files" });
  if (paths.length > MAX_DEPLOY_FILES) throw new ModhostError("E_DEPLOY_REFUSED", `a deploy carries at most ${MAX_DEPLOY_FILES} files; got ${paths.length}`, { field: "files" });
  for (const path of paths) {
    const problem = deployPathProblem(path);
    if (problem !== undefined) throw new ModhostError("E_DEPLOY_REFUSED", problem, { file: path, field: "files" });
    if ((files[path] ?? "").length > MAX_DEPLOY_FILE_CHARS) {
      throw new ModhostError("E_DEPLOY_REFUSED", `${path} has more than ${MAX_DEPLOY_FILE_CHARS} characters`, { file: path, field: "files" });
    }
  }
}

/**
 * Reads what a deploy of the mod in `dir` carries: its mod.json and every source file, by posix
 * path. Throws E_DEPLOY_REFUSED (no mod.json, a file too large, too many files) or
 * E_MOD_UNREADABLE (a file that cannot be read).
 */
export async function readDeployFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  try {
    files["mod.json"] = await readFile(join(dir, "mod.json"), "utf8");
  } catch (err) {
    throw new ModhostError("E_DEPLOY_REFUSED", `${dir} is not a mod folder: cannot read mod.json (${(err as Error).message})`, { file: "mod.json" }, { cause: err });
  }
  const walk = async (folder: string, depth: number): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const full = join(folder, entry.name);
      const path = relative(dir, full).split(sep).join("/");
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && depth < MAX_DEPTH) await walk(full, depth + 1);
        continue;
      }
      if (!entry.isFile() || !isSourcePath(path)) continue;
      if (Object.keys(files).length >= MAX_DEPLOY_FILES) throw new ModhostError("E_DEPLOY_REFUSED", `the mod has more than ${MAX_DEPLOY_FILES} files to deploy`);
      const info = await stat(full);
      if (info.size > MAX_DEPLOY_FILE_CHARS) throw new ModhostError("E_DEPLOY_REFUSED", `${path} is ${info.size} bytes, over the ${MAX_DEPLOY_FILE_CHARS} limit`, { file: path });
      try {
        files[path] = await readFile(full, "utf8");
      } catch (err) {
        throw new ModhostError("E_MOD_UNREADABLE", `cannot read ${path}: ${(err as Error).message}`, { file: path }, { cause: err });
      }
    }
  };
  await walk(dir, 0);
  checkDeployFiles(files);
  return files;
}

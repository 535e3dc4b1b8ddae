import { lstat, mkdir, readFile, readdir, copyFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseManifest, type ModManifest } from "modhost";
import { ModTestError } from "./mod-test-error.js";

/** Folders never copied into the sandbox's copy of a mod: dependencies, builds, VCS, dot-folders. */
const SKIPPED = new Set(["node_modules", "dist"]);

/** A path given as a string or a file: URL (e.g. `new URL("..", import.meta.url)`). */
export type PathLike = string | URL;

/** An absolute path from a string or a file: URL. */
export function toPath(path: PathLike): string {
  return resolve(typeof path === "string" ? path : fileURLToPath(path));
}

/** Reads and validates `dir/mod.json`; throws ModTestError E_MOD_FOLDER or E_MOD_NOT_LOADED. */
export async function readManifest(dir: string): Promise<ModManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, "mod.json"), "utf8");
  } catch (err) {
    throw new ModTestError("E_MOD_FOLDER", `${dir} has no readable mod.json: ${(err as Error).message}`, undefined, { cause: err });
  }
  const parsed = parseManifest(text);
  if (!parsed.ok) {
    const first = parsed.diagnostics[0];
    throw new ModTestError("E_MOD_NOT_LOADED", `${join(dir, "mod.json")} is invalid`, {
      code: "E_MANIFEST_INVALID",
      message: first?.message ?? "invalid manifest",
      file: "mod.json",
      ...(first?.line !== undefined ? { line: first.line } : {}),
      ...(first?.field !== undefined ? { field: first.field } : {}),
    });
  }
  return parsed.manifest;
}

/**
 * Makes `target` an exact copy of the mod folder `source` (its previous contents removed), skipping
 * node_modules, dist and dot-entries. Symbolic links are refused: the copy must be self-contained.
 */
export async function replaceFolder(source: string, target: string): Promise<void> {
  await rm(target, { recursive: true, force: true });
  await copyTree(source, target, source);
}

/** Writes `files` (relative path -> text) into `dir`, over what is there. Paths may not leave `dir`. */
export async function writeFiles(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const full = resolve(dir, path);
    if (relative(dir, full).startsWith("..") || full === dir) {
      throw new ModTestError("E_MOD_FOLDER", `cannot write ${JSON.stringify(path)}: it is outside the mod folder`);
    }
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, text);
  }
}

async function copyTree(folder: string, target: string, root: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    throw new ModTestError("E_MOD_FOLDER", `cannot read ${folder}: ${(err as Error).message}`, undefined, { cause: err });
  }
  await mkdir(target, { recursive: true });
  for (const entry of entries) {
    if (entry.name.startsWith(".") || SKIPPED.has(entry.name)) continue;
    const from = join(folder, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) await copyTree(from, to, root);
    else if (entry.isFile()) await copyFile(from, to);
    else if ((await lstat(from)).isSymbolicLink()) {
      throw new ModTestError("E_MOD_FOLDER", `${relative(root, from).split(sep).join("/")} is a symbolic link; a mod folder must hold its own files`);
    }
  }
}

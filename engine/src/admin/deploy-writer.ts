import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, readdir, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import { formatDiagnostic } from "../errors/diagnostic.js";
import { parseManifest } from "../manifest/mod-manifest.js";
import { checkDeployFiles, isSourcePath } from "./deploy-files.js";

/** Where a deploy was written. */
export interface DeployTarget {
  /** The mod's name (from the deployed mod.json). */
  readonly name: string;
  /** The mod's folder (absolute). */
  readonly dir: string;
  /** Did the folder exist before (a mod the host knows of, or a failed one)? */
  readonly existed: boolean;
}

/**
 * Writes a deploy into its mod's folder under `modsDir`, so that the host's ordinary reload reads
 * it exactly as it reads a local save:
 * - the folder is the one whose mod.json declares the same name, else `modsDir/<name>` (refused if
 *   that folder holds a different mod); symbolic links are never followed;
 * - each file is written to a temp file beside it (a dot-file the loader and watcher ignore) and
 *   renamed over the real one, so no reader ever sees half a file;
 * - source files the deploy does not carry are removed, so the folder compiles to exactly what was
 *   sent (other files, e.g. READMEs, tests or assets, are left alone).
 * Throws E_DEPLOY_REFUSED or E_MANIFEST_INVALID before writing anything.
 */
export async function writeDeploy(modsDir: string, files: Readonly<Record<string, string>>): Promise<DeployTarget> {
  checkDeployFiles(files);
  const parsed = parseManifest(files["mod.json"] ?? "");
  if (!parsed.ok) {
    const first = parsed.diagnostics[0];
    throw new ModhostError("E_MANIFEST_INVALID", `the deployed mod.json is invalid: ${first ? formatDiagnostic(first) : "unknown problem"}`, {
      file: "mod.json",
      ...(first?.line !== undefined ? { line: first.line } : {}),
      ...(first?.column !== undefined ? { column: first.column } : {}),
      ...(first?.field !== undefined ? { field: first.field } : {}),
    });
  }
  const name = parsed.manifest.name;
  const { dir, existed } = await targetFolder(modsDir, name);
  if (!existed) await mkdir(dir);
  else await refuseLinks(dir, "the mod folder");

  // Sources first, mod.json last: a watcher that reacts early sees the old manifest with new code
  // at worst, and the final reload reads everything.
  const order = Object.keys(files).sort((a, b) => (a === "mod.json" ? 1 : b === "mod.json" ? -1 : a.localeCompare(b)));
  for (const path of order) await writeAtomically(dir, path, files[path] ?? "");
  for (const stale of await sourceFiles(dir)) {
    if (!Object.hasOwn(files, stale)) await unlink(join(dir, ...stale.split("/")));
  }
  return { name, dir, existed };
}

/** The folder of the mod called `name`: an existing one declaring that name, or modsDir/name. */
async function targetFolder(modsDir: string, name: string): Promise<{ dir: string; existed: boolean }> {
  const entries = await readdir(modsDir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const text = await readFile(join(modsDir, entry.name, "mod.json"), "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
      throw err;
    });
    if (text === undefined) continue;
    const parsed = parseManifest(text);
    if (parsed.ok && parsed.manifest.name === name) return { dir: join(modsDir, entry.name), existed: true };
  }
  const dir = join(modsDir, name);
  const info = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (info === undefined) return { dir, existed: false };
  if (!info.isDirectory()) throw new ModhostError("E_DEPLOY_REFUSED", `${dir} exists and is not a folder`, { mod: name });
  const text = await readFile(join(dir, "mod.json"), "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  const other = text === undefined ? undefined : parseManifest(text);
  if (other?.ok === true && other.manifest.name !== name) {
    throw new ModhostError("E_DEPLOY_REFUSED", `${dir} holds another mod ("${other.manifest.name}"); a deploy never writes into another mod's folder`, { mod: name });
  }
  return { dir, existed: true };
}

/** Writes one file through a temp file and a rename, creating its folders; never follows links. */
async function writeAtomically(dir: string, path: string, text: string): Promise<void> {
  const segments = path.split("/");
  let folder = dir;
  for (const segment of segments.slice(0, -1)) {
    folder = join(folder, segment);
    await mkdir(folder).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
    await refuseLinks(folder, path);
  }
  const target = join(dir, ...segments);
  const existing = await lstat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (existing !== undefined && !existing.isFile()) throw new ModhostError("E_DEPLOY_REFUSED", `${path} exists in the mod folder and is not a plain file`, { file: path });
  const temp = join(dirname(target), `.${segments[segments.length - 1] ?? "file"}.${randomBytes(6).toString("hex")}.tmp`);
  await writeFile(temp, text, { flag: "wx" });
  try {
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch((cleanup: unknown) => {
      throw new AggregateError([err, cleanup], `cannot rename ${temp} onto ${target}, nor remove it`);
    });
    throw err;
  }
}

async function refuseLinks(path: string, what: string): Promise<void> {
  const info = await lstat(path);
  if (!info.isDirectory()) throw new ModhostError("E_DEPLOY_REFUSED", `${what}: ${path} is not a plain folder (symbolic links are not followed)`);
}

/** The source files in a mod folder, as the loader would read them (posix paths). */
async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const full = join(folder, entry.name);
      const path = relative(dir, full).split(sep).join("/");
      if (entry.isDirectory()) {
        if (isSourcePath(`${path}/x.ts`)) await walk(full);
      } else if (entry.isFile() && isSourcePath(path)) out.push(path);
    }
  };
  await walk(dir);
  return out;
}

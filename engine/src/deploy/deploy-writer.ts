import { constants } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readdir, rm } from "node:fs/promises";
import { renameSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import { formatDiagnostic } from "../errors/diagnostic.js";
import type { SwapReport } from "../model/swap-report.js";
import { parseManifest } from "../manifest/mod-manifest.js";
import { readManifestText } from "../manifest/read-manifest.js";
import { checkDeployFiles, isSourcePath } from "./deploy-files.js";
import { LISTING_FILE, SIGNATURE_FILE } from "../model/package-files.js";

/** Where a deploy went, and what became of its files. */
export interface DeployOutcome {
  /** The mod's name (from the deployed mod.json). */
  readonly name: string;
  /** The mod's folder (absolute). */
  readonly dir: string;
  /** The host's report on loading it. */
  readonly report: SwapReport;
  /** Was the old folder put back because the host refused the new version? */
  readonly restored: boolean;
}

/**
 * Prefix of the private folders a deploy is staged in, directly inside modsDir (same file system,
 * so the swap is a rename). A dot-folder: the loader and the watcher never take it for a mod.
 * One left behind by a crash holds nothing live and can be deleted.
 */
export const STAGING_PREFIX = ".modhost-staging-";

/** A file written by a deploy: created, never opened through a link, never over an existing file. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * Deploys `files` as the mod they declare, under `modsDir`, and loads it with `load` (the host's
 * ordinary pipeline), so that the host reads a deploy exactly as it reads a local save:
 * - the folder is the one whose mod.json declares the same name, else `modsDir/<name>` (refused if
 *   that folder holds a different mod);
 * - the whole new version is written into a fresh private folder (mkdtemp, mode 0700, inside
 *   modsDir) with files created exclusively and never through a link, so nothing can redirect a
 *   write outside it; files of the old folder that are not sources (READMEs, assets) are copied
 *   over, symbolic links and special files are not; sources the deploy does not carry are gone;
 * - the new folder is swapped in by two renames in one synchronous step (old aside, new in), so a
 *   watcher never sees the mod missing;
 * - if the host refuses the version, the old folder is swapped back: refused files never stay
 *   where a restart or a watcher would read them; a version held for approval stays only with
 *   `keepHeld` (the default; the admin channel keeps held files aside until approved instead).
 * `packageFiles` are a verified signed package's own files (package.json, listing, signature),
 * written beside the sources. Throws E_DEPLOY_REFUSED or E_MANIFEST_INVALID before touching the
 * mod's folder.
 */
export async function deploy(
  modsDir: string,
  files: Readonly<Record<string, string>>,
  load: (dir: string) => Promise<SwapReport>,
  packageFiles: Readonly<Record<string, Uint8Array>> = {},
  options: { readonly keepHeld?: boolean } = {},
): Promise<DeployOutcome> {
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
  const staging = await mkdtemp(join(modsDir, STAGING_PREFIX));
  try {
    const fresh = join(staging, "new");
    const aside = join(staging, "old");
    await mkdir(fresh);
    for (const path of Object.keys(files)) await createFile(fresh, path, files[path] ?? "");
    // A signed package's own files (package.json, its listing and signature), already verified.
    for (const [path, bytes] of Object.entries(packageFiles)) if (!Object.hasOwn(files, path)) await createFile(fresh, path, Buffer.from(bytes));
    if (existed) await carryOver(dir, fresh, { ...files, ...Object.fromEntries(Object.keys(packageFiles).map((p) => [p, ""])) });
    swapIn(dir, fresh, existed ? aside : undefined, name);
    let report: SwapReport;
    try {
      report = await load(dir);
    } catch (err) {
      swapBack(dir, join(staging, "refused"), existed ? aside : undefined, name);
      throw err;
    }
    if (report.ok || (options.keepHeld !== false && report.error?.code === "E_APPROVAL_REQUIRED")) return { name, dir, report, restored: false };
    swapBack(dir, join(staging, "refused"), existed ? aside : undefined, name);
    return { name, dir, report, restored: true };
  } finally {
    // Holds the old folder (swapped out), the refused one (swapped back), or a half-written one.
    await rm(staging, { recursive: true, force: true });
  }
}

/** The folder of the mod called `name`: an existing one declaring that name, or modsDir/name. */
async function targetFolder(modsDir: string, name: string): Promise<{ dir: string; existed: boolean }> {
  const entries = await readdir(modsDir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const text = await readManifestText(join(modsDir, entry.name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ENOTDIR" || err.code === "EISDIR") return undefined;
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
  if (!info.isDirectory()) throw new ModhostError("E_DEPLOY_REFUSED", `${dir} exists and is not a folder (symbolic links are not followed)`, { mod: name });
  const text = await readManifestText(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  const other = text === undefined ? undefined : parseManifest(text);
  if (other?.ok === true && other.manifest.name !== name) {
    throw new ModhostError("E_DEPLOY_REFUSED", `${dir} holds another mod ("${other.manifest.name}"); a deploy never writes into another mod's folder`, { mod: name });
  }
  return { dir, existed: true };
}

/** Creates `root/path` (posix, already checked) with `text`, making its folders inside `root`. */
async function createFile(root: string, path: string, text: string | Buffer): Promise<void> {
  const segments = path.split("/");
  let folder = root;
  for (const segment of segments.slice(0, -1)) {
    folder = join(folder, segment);
    await mkdir(folder).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
  }
  const handle = await open(join(root, ...segments), CREATE_FLAGS, 0o644);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/**
 * Copies the files of the live folder that a deploy does not replace (anything but mod.json and
 * sources: READMEs, assets, tests) into the new folder. Only plain files and folders are carried:
 * a symbolic link or a special file is left behind, and each file is opened without following a
 * link. Copied before the swap, from the live folder, so the mod is never missing meanwhile.
 */
async function carryOver(live: string, fresh: string, files: Readonly<Record<string, string>>): Promise<void> {
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return [];
      throw err;
    });
    for (const entry of entries) {
      const full = join(folder, entry.name);
      const path = relative(live, full).split(sep).join("/");
      if (entry.isDirectory()) await walk(full);
      // An old signed listing never outlives the files it signed.
      else if (entry.isFile() && path !== "mod.json" && !isSourcePath(path) && !Object.hasOwn(files, path) && path !== LISTING_FILE && path !== SIGNATURE_FILE) {
        const content = await readPlainFile(full);
        if (content !== undefined) await createFile(fresh, path, content);
      }
    }
  };
  await walk(live);
}

/** A file's bytes, or undefined if it turned out to be a link or vanished meanwhile. */
async function readPlainFile(path: string): Promise<Buffer | undefined> {
  const handle = await open(path, READ_FLAGS).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ELOOP" || err.code === "ENOENT") return undefined;
    throw err;
  });
  if (handle === undefined) return undefined;
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Puts `fresh` at `dir`, moving what was there to `aside` first. Both renames happen in one
 * synchronous step: no callback (a watcher's settle timer included) runs between them.
 */
function swapIn(dir: string, fresh: string, aside: string | undefined, name: string): void {
  try {
    if (aside !== undefined) renameSync(dir, aside);
  } catch (err) {
    throw new ModhostError("E_DEPLOY_REFUSED", `cannot move the old folder of "${name}" aside: ${(err as Error).message}`, { mod: name }, { cause: err });
  }
  try {
    renameSync(fresh, dir);
  } catch (err) {
    if (aside !== undefined) renameSync(aside, dir);
    throw new ModhostError("E_DEPLOY_REFUSED", `cannot put the new folder of "${name}" in place (did something else create ${dir}?): ${(err as Error).message}`, { mod: name }, { cause: err });
  }
}

/** Undoes swapIn after a refusal: the refused folder goes to `refused`, the old one (if any) back. */
function swapBack(dir: string, refused: string, aside: string | undefined, name: string): void {
  try {
    renameSync(dir, refused);
    if (aside !== undefined) renameSync(aside, dir);
  } catch (err) {
    throw new ModhostError("E_INTERNAL", `the host refused the deployed "${name}", and its old folder could not be put back: ${(err as Error).message}`, { mod: name }, { cause: err });
  }
}

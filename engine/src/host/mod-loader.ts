import { readFile, readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { compileMod } from "../compile/compile-mod.js";
import type { CompiledModule } from "../compile/compiled-module.js";
import type { Diagnostic } from "../errors/diagnostic.js";
import type { ErrorCode } from "../errors/error-codes.js";
import { messageOf, type ErrorInfo } from "../errors/modhost-error.js";
import { isStackOverflow } from "../compile/source-limits.js";
import { parseManifest, type ModManifest } from "../manifest/mod-manifest.js";
import { readManifestText } from "../manifest/read-manifest.js";
import type { LoadSpec, WireModule } from "../model/wire.js";
import type { ResolvedOptions } from "./host-options.js";
import type { ModhostError } from "../errors/modhost-error.js";
import { checkSignedFolder } from "../registry/signed-folder.js";
import type { SignedOrigin } from "../model/signed-origin.js";
import type { ModVersion, PrepareResult } from "../compile/mod-version.js";

const MAX_FILES = 1000;
const MAX_FILE_BYTES = 4 * 1024 * 1024;
const SKIPPED_DIRS = new Set(["node_modules", "dist", "test", "tests", "__tests__"]);

/** The sub-folders of modsDir that hold a mod.json, sorted by name. */
export async function findModFolders(modsDir: string): Promise<string[]> {
  const entries = await readdir(modsDir, { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const dir = join(modsDir, entry.name);
    if (await exists(join(dir, "mod.json"))) out.push(dir);
  }
  return out.sort();
}

/**
 * Reads, validates and compiles the mod in `dir` against the operator's options: manifest fields,
 * limits within the caps, permissions offered by the game and granted to this mod, imports and
 * safety rules, syntax. Never throws for anything in the folder: problems come back as data.
 */
export async function prepareMod(dir: string, options: ResolvedOptions): Promise<PrepareResult> {
  const folderName = dir.split(sep).pop() ?? dir;
  let manifestText: string;
  try {
    manifestText = await readManifestText(dir);
  } catch (err) {
    // A missing mod.json is the folder's problem; running out of descriptors is not the mod's.
    const code = isContentProblem(err) ? "E_MANIFEST_INVALID" : "E_IO";
    return failure(folderName, code, `cannot read mod.json: ${(err as Error).message}`, { file: "mod.json" });
  }
  const parsed = parseManifest(manifestText);
  if (!parsed.ok) return fromDiagnostics(folderName, parsed.diagnostics);
  const manifest = parsed.manifest;
  const name = manifest.name;

  let files: Map<string, string>;
  try {
    files = await readSources(dir);
  } catch (err) {
    const cause = (err as Error).cause ?? err;
    return failure(name, isContentProblem(cause) ? "E_MOD_UNREADABLE" : "E_IO", (err as Error).message, {});
  }
  let signed: SignedOrigin | undefined;
  if (options.requireSigned) {
    // Checked on the very text read above, before anything is compiled.
    if (options.trust === undefined) return failure(name, "E_UNSIGNED", "requireSigned is on but no trusted keys were loaded", {});
    try {
      signed = await checkSignedFolder(dir, manifestText, files, options.trust);
    } catch (err) {
      return failure(name, "E_UNSIGNED", (err as Error).message, (err as ModhostError).location ?? {});
    }
  }
  const result = await prepareSources(dir, manifest, files, options);
  return result.ok && signed !== undefined ? { ok: true, version: { ...result.version, signed } } : result;
}

/**
 * Is a failure to read a mod's file about the folder's content (no such file, a folder where a
 * file should be, our own size and count limits) rather than the machine (EMFILE, ENFILE, EIO...)?
 */
function isContentProblem(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined || code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/**
 * Validates and compiles a version from its manifest and sources (read from its folder, or from
 * the stateDir on restart). Never throws for anything in the sources.
 */
export async function prepareSources(dir: string, manifest: ModManifest, files: ReadonlyMap<string, string>, options: ResolvedOptions): Promise<PrepareResult> {
  const result = await prepareManifested(dir, manifest, files, options);
  // mod.json was read: a refusal names the version it refused (a swap report's `to`).
  return result.ok ? result : { ...result, version: manifest.version };
}

async function prepareManifested(dir: string, manifest: ModManifest, files: ReadonlyMap<string, string>, options: ResolvedOptions): Promise<PrepareResult> {
  const name = manifest.name;
  const limitProblem = checkLimits(manifest, options);
  if (limitProblem) return { ok: false, name, error: { ...limitProblem, mod: name }, diagnostics: [] };
  const permissionProblem = checkPermissions(manifest, options);
  if (permissionProblem) return { ok: false, name, error: { ...permissionProblem, mod: name }, diagnostics: [] };
  let compiled;
  try {
    compiled = await compileMod({ modName: name, entry: manifest.entry, files }, options.diskCache ? { diskCache: options.diskCache } : {});
  } catch (err) {
    // compileMod turns hostile sources into diagnostics; anything else thrown is faulted on this mod alone.
    if (isStackOverflow(err)) return failure(name, "E_SOURCE_TOO_COMPLEX", `the mod's sources are nested too deeply to compile (the stack overflowed); split them up`, { file: manifest.entry });
    return failure(name, "E_INTERNAL", `compiling the mod failed: ${messageOf(err)}`, {});
  }
  if (!compiled.ok) return fromDiagnostics(name, compiled.diagnostics);

  const modules: WireModule[] = compiled.modules.map((module) => {
    const imports: Record<string, string> = {};
    for (const imp of module.imports) {
      if (imp.resolved.kind === "mod") imports[imp.specifier] = imp.resolved.path;
      else if (imp.resolved.kind === "sdk") imports[imp.specifier] = "@modhost/sdk";
    }
    return { path: module.path, js: module.js, imports };
  });
  const spec: LoadSpec = {
    name,
    version: manifest.version,
    hash: compiled.hash,
    entry: manifest.entry,
    modules,
    permissions: manifest.permissions,
    memoryMb: manifest.limits.memoryMb ?? options.defaults.memoryMb,
    callTimeoutMs: manifest.limits.callTimeoutMs ?? options.defaults.callTimeoutMs,
    maxBytes: options.maxBytes,
    maxLogsPerCall: 100,
    capabilityTimeoutMs: options.capabilityLimits.timeoutMs,
    logLinesPerSecond: options.logRatePerSecond,
    logBytesPerSecond: options.logBytesPerSecond,
  };
  return {
    ok: true,
    version: { dir, manifest, hash: compiled.hash, spec, modules: compiled.modules, diagnostics: compiled.diagnostics, files },
  };
}

function checkLimits(manifest: ModManifest, options: ResolvedOptions): Omit<ErrorInfo, "mod"> | undefined {
  const { memoryMb, callTimeoutMs } = manifest.limits;
  if (memoryMb !== undefined && memoryMb > options.caps.memoryMb) {
    return { code: "E_LIMIT_EXCEEDS_CAP", message: `limits.memoryMb asks for ${memoryMb} MB; the operator's cap is ${options.caps.memoryMb} MB`, file: "mod.json", field: "limits.memoryMb" };
  }
  if (callTimeoutMs !== undefined && callTimeoutMs > options.caps.callTimeoutMs) {
    return { code: "E_LIMIT_EXCEEDS_CAP", message: `limits.callTimeoutMs asks for ${callTimeoutMs} ms; the operator's cap is ${options.caps.callTimeoutMs} ms`, file: "mod.json", field: "limits.callTimeoutMs" };
  }
  return undefined;
}

function checkPermissions(manifest: ModManifest, options: ResolvedOptions): Omit<ErrorInfo, "mod"> | undefined {
  const granted = options.grants.get(manifest.name) ?? [];
  for (const [index, permission] of manifest.permissions.entries()) {
    if (!options.capabilities.has(permission)) {
      return { code: "E_PERMISSION_UNKNOWN", message: `permission "${permission}" is not offered by the game (offered: ${[...options.capabilities.keys()].join(", ") || "none"}); ${permissionHint(permission)}`, file: "mod.json", field: `permissions[${index}]` };
    }
    if (!granted.includes(permission)) {
      return { code: "E_PERMISSION_NOT_GRANTED", message: `permission "${permission}" is not granted to mod "${manifest.name}"; the operator must add it to grants["${manifest.name}"]`, file: "mod.json", field: `permissions[${index}]` };
    }
  }
  return undefined;
}

/** How to offer a permission, for E_PERMISSION_UNKNOWN: in the embedding game, or in the project file of `modhost serve`/`dev`. */
export function permissionHint(permission: string): string {
  return `to offer it, pass capabilities: { ${JSON.stringify(permission)}: fn } to ModHost.create(), or (modhost serve/dev) add "capabilities": { ${JSON.stringify(permission)}: { "answer": ... } } to modhost.config.json beside the mods folder`;
}

/** Every .ts file under `dir` (skipping tests, node_modules, dist and dot-folders). */
async function readSources(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const full = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(full);
        continue;
      }
      if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".d.ts") || /\.(test|spec)\.ts$/.test(entry.name)) continue;
      const path = relative(dir, full).split(sep).join("/");
      if (files.size >= MAX_FILES) throw new Error(`the mod has more than ${MAX_FILES} .ts files`);
      const info = await stat(full);
      if (info.size > MAX_FILE_BYTES) throw new Error(`${path} is ${info.size} bytes, over the ${MAX_FILE_BYTES} byte limit`);
      try {
        files.set(path, await readFile(full, "utf8"));
      } catch (err) {
        throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
  };
  await walk(dir);
  return files;
}

function fromDiagnostics(name: string, diagnostics: readonly Diagnostic[]): PrepareResult {
  const first = diagnostics.find((d) => d.severity === "error") ?? diagnostics[0];
  const code = (first?.code ?? "E_INTERNAL") as ErrorCode;
  const more = diagnostics.filter((d) => d.severity === "error").length - 1;
  const error: ErrorInfo = {
    code,
    message: `${first?.message ?? "the mod could not be prepared"}${more > 0 ? ` (and ${more} more)` : ""}`,
    mod: name,
    ...(first?.file !== undefined ? { file: first.file } : {}),
    ...(first?.line !== undefined ? { line: first.line } : {}),
    ...(first?.column !== undefined ? { column: first.column } : {}),
    ...(first?.field !== undefined ? { field: first.field } : {}),
  };
  return { ok: false, name, error, diagnostics };
}

function failure(name: string, code: ErrorCode, message: string, where: Partial<ErrorInfo>): PrepareResult {
  return { ok: false, name, error: { code, message, mod: name, ...where }, diagnostics: [] };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    // Anything else (EACCES...): treat it as a mod folder, so that reading its mod.json reports
    // the problem against this mod while the others load.
    return true;
  }
}

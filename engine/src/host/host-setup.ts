import { stat } from "node:fs/promises";
import { DiskCompileCache } from "../compile/disk-cache.js";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { InlineBackend } from "../backends/inline-backend.js";
import { ProcessBackend } from "../backends/process-backend.js";
import { ProcessPool } from "../backends/process-pool.js";
import type { PrepareResult } from "../compile/mod-version.js";
import type { SandboxBridge } from "../model/wire.js";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import { findModFolders, prepareMod } from "./mod-loader.js";
import { loadRegistryTrust } from "../registry/registry-options.js";
import { loadIsolatedVm } from "../sandbox/ivm.js";
import { resolveOptions, type ModHostOptions, type ResolvedOptions } from "./host-options.js";

/**
 * The host's options, checked and with what they name opened: the registry's trusted keys, the
 * compile cache on disk, the mods folder (must be a folder), inline isolation's requirements.
 * Throws ModhostError for bad options or an unusable modsDir.
 */
export async function resolveHostOptions(options: ModHostOptions): Promise<ResolvedOptions> {
  const checked = resolveOptions(options);
  // The trusted keys are read first: requireSigned checks every folder against them.
  const parsed: ResolvedOptions = checked.registry === undefined ? checked : { ...checked, trust: await loadRegistryTrust(checked.registry) };
  const resolved: ResolvedOptions =
    parsed.cacheDir === undefined
      ? parsed
      : {
          ...parsed,
          diskCache: await DiskCompileCache.open(parsed.cacheDir).catch((err: unknown) => {
            throw new ModhostError("E_OPTIONS_INVALID", `options.cacheDir: ${(err as Error).message}`, { field: "cacheDir" }, { cause: err });
          }),
        };
  const withVerdicts = resolved.diskCache === undefined ? { ...resolved, ...(await verdictCacheFromEnv()) } : resolved;
  const info = await stat(resolved.modsDir).catch((err: unknown) => {
    throw new ModhostError("E_MODS_DIR", `modsDir ${resolved.modsDir} cannot be read: ${(err as Error).message}`, { field: "modsDir" });
  });
  if (!info.isDirectory()) throw new ModhostError("E_MODS_DIR", `modsDir ${resolved.modsDir} is not a folder`, { field: "modsDir" });
  if (resolved.isolation === "inline") checkInlineAllowed();
  return withVerdicts;
}

/**
 * MODHOST_TYPECHECK_CACHE names a folder where hosts without a cacheDir remember passed
 * type-checks (keyed like cacheDir's: sources, game types, TypeScript, SDK and engine versions).
 * The test suite sets it so that each fixture mod's first load is type-checked once per run, not
 * once per host. A folder that cannot be opened is ignored: the checks then simply run.
 */
async function verdictCacheFromEnv(): Promise<{ verdictCache?: DiskCompileCache }> {
  const dir = process.env["MODHOST_TYPECHECK_CACHE"];
  if (dir === undefined || dir === "") return {};
  try {
    return { verdictCache: await DiskCompileCache.open(dir) };
  } catch (err) {
    process.emitWarning(`MODHOST_TYPECHECK_CACHE ${dir} is not usable (${messageOf(err)}): type-checks are not remembered`);
    return {};
  }
}

/**
 * Inline isolation loads isolated-vm here, which needs --no-node-snapshot on every supported Node
 * (isolated-vm's README says so for Node 20 and later, in 5.x, 6.x and 7.x alike).
 */
function checkInlineAllowed(): void {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (!flags.includes("--no-node-snapshot")) {
    throw new ModhostError("E_OPTIONS_INVALID", `isolation: "inline" needs this process to run with node --no-node-snapshot (or use the default isolation: "process")`, { field: "isolation" });
  }
  const unsafe = flags.find((flag) => flag === "--allow-natives-syntax" || flag === "--expose-gc" || flag.startsWith("--expose"));
  if (unsafe !== undefined) {
    throw new ModhostError("E_OPTIONS_INVALID", `isolation: "inline" refuses to run mods in a process started with ${unsafe}: V8 flags reach every isolate`, { field: "isolation" });
  }
  // Fails here, before any mod loads, when this Node has no isolated-vm installed (E_NODE_UNSUPPORTED).
  loadIsolatedVm();
}

/**
 * Starts the sandbox: isolates in this process (inline), the sandbox child process, or a pool of
 * them (`sandboxProcesses` > 1, backends/process-pool.ts).
 */
export function startBackend(resolved: ResolvedOptions, bridge: SandboxBridge): Promise<SandboxBackend> {
  if (resolved.isolation === "inline") return Promise.resolve(new InlineBackend(bridge));
  const member = { graceMs: 1000, predictableGc: resolved.sandboxPredictableGc };
  return resolved.sandboxProcesses === 1 ? ProcessBackend.create(bridge, member) : ProcessPool.create(bridge, { processes: resolved.sandboxProcesses, member });
}

/**
 * Lists modsDir and prepares (reads, compiles, checks) every mod folder in it. A listing failure
 * is E_IO naming modsDir. The promise is observed at once: it may settle while the sandbox spawns,
 * and its rejection is never unhandled (the caller awaits it and rethrows).
 */
export function prepareFolders(resolved: ResolvedOptions): Promise<{ dir: string; result: PrepareResult }[]> {
  const folders = findModFolders(resolved.modsDir)
    .catch((err: unknown) => {
      throw new ModhostError("E_IO", `modsDir ${resolved.modsDir} cannot be listed: ${messageOf(err)}`, { field: "modsDir" }, { cause: err });
    })
    .then((dirs) => Promise.all(dirs.map(async (dir) => ({ dir, result: await prepareMod(dir, resolved) }))));
  folders.catch(() => undefined);
  return folders;
}

import type { ModVersion } from "../compile/mod-version.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { RecoveredMod } from "../persist/mod-store.js";
import type { VersionStore } from "../persist/version-store.js";
import type { ResolvedOptions } from "./host-options.js";
import { prepareSources } from "./mod-loader.js";

/**
 * Compiles again every version a recovered mod's checkpoint, journal and history name, by hash:
 * `live` (the folder's version) as it is, the others from the version store. A version the
 * checkpoint or the journal needs that cannot be read or no longer loads is returned as the mod's
 * error; the history is best effort (an unreadable old version is left out).
 */
export async function compileRecoveredVersions(live: ModVersion, mod: string, recovered: RecoveredMod, store: VersionStore, options: ResolvedOptions): Promise<Map<string, ModVersion> | ErrorInfo> {
  const hashes = new Set<string>([recovered.checkpoint.version, ...(recovered.meta?.history ?? [])]);
  for (const entry of recovered.entries) if (entry.kind !== "event") hashes.add(entry.version);
  const versions = new Map<string, ModVersion>();
  for (const hash of hashes) {
    if (hash === live.hash) {
      versions.set(hash, live);
      continue;
    }
    const stored = await store.read(hash).catch((err: unknown) => err as Error);
    if (stored instanceof Error) {
      if (recovered.meta?.history.includes(hash) && hash !== recovered.checkpoint.version) continue; // history is best effort
      return { code: "E_STATE_CORRUPT", message: stored.message, mod };
    }
    const result = await prepareSources(live.dir, stored.manifest, new Map(Object.entries(stored.files)), options);
    if (!result.ok) return { ...result.error, message: `the stored version ${stored.manifest.version} (${hash.slice(0, 12)}) no longer loads: ${result.error.message}` };
    versions.set(hash, result.version);
  }
  return versions;
}

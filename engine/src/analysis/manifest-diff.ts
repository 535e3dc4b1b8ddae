import type { SwapChange } from "../model/swap-report.js";
import type { ModManifest } from "../manifest/mod-manifest.js";

/** How two manifests of a mod differ. */
export interface ManifestDiff {
  /** `mod.json#<field>` for each field that differs, sorted by path. */
  readonly changes: SwapChange[];
  /** Permissions the new manifest asks for that the old one did not, in the new manifest's order. */
  readonly permissionsAdded: string[];
  /** `memoryMb` / `callTimeoutMs` where the new manifest allows more than the old one. */
  readonly limitsRaised: string[];
}

const LIMITS = ["memoryMb", "callTimeoutMs"] as const;

/**
 * Compares two manifests field by field. Every difference is a change, even a version bump
 * alone: the operator wants the new version number live. Permissions are a set (their order
 * carries no meaning). A limit counts as raised when the new value is higher, when the new
 * manifest sets one the old did not have, and when the new manifest drops one the old had: a
 * mod without the limit runs under the host's cap, which no valid request exceeds, so dropping
 * a limit can only give the mod more and must be approved like any other raise.
 */
export function diffManifests(previous: ModManifest, next: ModManifest): ManifestDiff {
  const changes: SwapChange[] = [];
  const field = (name: string, before: unknown, after: unknown): void => {
    if (before === after) return;
    const kind = before === undefined ? "added" : after === undefined ? "removed" : "modified";
    changes.push({ kind, path: `mod.json#${name}` });
  };
  field("name", previous.name, next.name);
  field("version", previous.version, next.version);
  field("entry", previous.entry, next.entry);
  field("description", previous.description, next.description);

  const before = new Set(previous.permissions);
  const after = new Set(next.permissions);
  const permissionsAdded = next.permissions.filter((permission) => !before.has(permission));
  if (permissionsAdded.length > 0 || previous.permissions.some((permission) => !after.has(permission))) {
    changes.push({ kind: "modified", path: "mod.json#permissions" });
  }

  const limitsRaised: string[] = [];
  let limitsChanged = false;
  for (const limit of LIMITS) {
    const old = previous.limits[limit];
    const value = next.limits[limit];
    if (old === value) continue;
    limitsChanged = true;
    if (value === undefined || old === undefined || value > old) limitsRaised.push(limit);
  }
  if (limitsChanged) changes.push({ kind: "modified", path: "mod.json#limits" });

  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { changes, permissionsAdded, limitsRaised };
}

import type { ModVersion } from "../compile/mod-version.js";
import type { ModSlot } from "../slot/mod-slot.js";
import type { VersionInfo, VersionLedger } from "./version-ledger.js";
import type { ModInfo } from "./host-events.js";

/**
 * A mod's versions, oldest first: those a rollback can return to, the live one, and the one held
 * for approval, each with its hash, source (from `sourceOf`), and when and how it went live.
 */
export function listVersions(slot: ModSlot, ledger: VersionLedger, sourceOf: (version: ModVersion) => string): VersionInfo[] {
  const info = (version: ModVersion, current: boolean, pending: boolean): VersionInfo => {
    const seen = ledger.entry(slot.name, version.hash);
    const reason = pending ? ledger.heldReason(slot.name) : undefined;
    return {
      version: version.manifest.version,
      hash: version.hash,
      source: sourceOf(version),
      at: seen.at,
      how: seen.how,
      ...(seen.by !== undefined ? { by: seen.by } : {}),
      current,
      pending,
      ...(reason !== undefined ? { reason } : {}),
    };
  };
  const out = [...slot.previousVersions.map((v) => info(v, false, false)), info(slot.version, true, false)];
  if (slot.pendingApproval !== undefined) out.push(info(slot.pendingApproval.version, false, true));
  return out;
}

/** The version a slot holds for approval (it must hold one), and why, as ModInfo lists it. */
export function pendingVersion(slot: ModSlot, ledger: VersionLedger): NonNullable<ModInfo["pending"]> {
  const held = slot.pendingApproval?.version as ModVersion;
  const reason = ledger.heldReason(slot.name);
  return { version: held.manifest.version, hash: held.hash, ...(reason !== undefined ? { reason } : {}) };
}

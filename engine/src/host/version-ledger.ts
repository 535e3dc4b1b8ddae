import type { SwapReport } from "../model/swap-report.js";

/** How a version became live (or held): what the host saw happen. */
export type VersionHow = "startup" | "load" | "swap" | "rollback" | "approve";

/** One version of a mod as `ModHost.versions()` lists it, oldest first. */
export interface VersionInfo {
  readonly version: string;
  /** sha256 of the compiled sources. */
  readonly hash: string;
  /** Where it came from: "folder", "deploy" or "registry" (as ModInfo's origin). */
  readonly source: string;
  /** When it went live (or was held), ISO 8601; for versions live since startup, when the host started. */
  readonly at: string;
  /** What made it live: the host's startup, a load, a swap (reload, deploy, package), a rollback, an approval. */
  readonly how: VersionHow;
  /** Who asked, when the admin channel knows (e.g. the deploying user): set by the admin server. */
  readonly by?: string;
  /** Is it the live version? */
  readonly current: boolean;
  /** Is it the version held for approval? */
  readonly pending: boolean;
  /** Why it is held, when pending (the E_APPROVAL_REQUIRED message). */
  readonly reason?: string;
}

/**
 * When and how each version of each mod went live, and why a held one is held, as the host saw it
 * happen (by hash). In memory only: after a restart, versions resumed from the stateDir count as
 * live since startup.
 */
export class VersionLedger {
  readonly #startedAt = new Date().toISOString();
  readonly #seen = new Map<string, { at: string; how: VersionHow }>();
  readonly #held = new Map<string, string>();

  /** Notes a report; `liveHash` is the mod's live hash after it. */
  note(report: SwapReport, liveHash: string | undefined, approving: boolean): void {
    if (report.error?.code === "E_APPROVAL_REQUIRED") {
      this.#held.set(report.mod, report.error.message);
      return;
    }
    if (!report.ok || liveHash === undefined || report.kind === "noop") return;
    const how: VersionHow = report.kind === "rollback" ? "rollback" : approving ? "approve" : report.from === "" ? "load" : "swap";
    this.#seen.set(key(report.mod, liveHash), { at: new Date().toISOString(), how });
  }

  /** When and how a version went live (startup when the ledger never saw it happen). */
  entry(mod: string, hash: string): { at: string; how: VersionHow } {
    return this.#seen.get(key(mod, hash)) ?? { at: this.#startedAt, how: "startup" };
  }

  /** Why the held version of `mod` is held. */
  heldReason(mod: string): string | undefined {
    return this.#held.get(mod);
  }
}

function key(mod: string, hash: string): string {
  return `${mod}\0${hash}`;
}

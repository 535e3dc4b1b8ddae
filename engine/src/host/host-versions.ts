import type { ModVersion } from "../compile/mod-version.js";
import type { SwapReport } from "../model/swap-report.js";
import type { ModSlot } from "../slot/mod-slot.js";
import type { SwapCoordinator } from "../swap/swap-coordinator.js";
import type { HostEvents, ModInfo } from "./host-events.js";
import { VersionLedger, type VersionInfo } from "./version-ledger.js";
import { listVersions, pendingVersion } from "./version-list.js";

/**
 * The host's version history: its ledger (when, how and by whom each version went live, why a
 * held one is held), fed by every swap report, the mods running at startup and approvals, and
 * read by `versions()` and `mods()`. Owned by ModHost; flush() at close.
 */
export class HostVersions {
  readonly #ledger: VersionLedger;

  /** `liveHash` gives the hash of a mod's live version (undefined when it is not loaded). */
  constructor(events: HostEvents, liveHash: (mod: string) => string | undefined) {
    this.#ledger = new VersionLedger((message) => events.log({ mod: "<stateDir>", level: "warn", message }));
    events.on("swap", (report) => this.#ledger.note(report, liveHash(report.mod), false));
  }

  /** Reads and then keeps the ledger in the stateDir. */
  attach(stateDir: string): Promise<void> {
    return this.#ledger.attach(stateDir);
  }

  /** Notes the versions running once create() brought the mods up. */
  noteStartup(slots: Iterable<ModSlot>): void {
    for (const slot of slots) if (slot.status === "running") this.#ledger.noteStartup(slot.name, slot.version.hash);
  }

  /** Applies the patch `slot` holds for approval and notes it as approved when it goes live. */
  async approve(slot: ModSlot, swaps: SwapCoordinator): Promise<SwapReport> {
    const report = await swaps.approve(slot);
    if (report.ok) this.#ledger.note(report, slot.version.hash, true);
    return report;
  }

  /** A mod's versions as `versions()` lists them; `sourceOf` says where each came from. */
  list(slot: ModSlot, sourceOf: (version: ModVersion) => string): VersionInfo[] {
    return listVersions(slot, this.#ledger, sourceOf);
  }

  /** The version a slot holds for approval (it must hold one), and why, as `mods()` lists it. */
  pending(slot: ModSlot): NonNullable<ModInfo["pending"]> {
    return pendingVersion(slot, this.#ledger);
  }

  /** Notes who asked for version `hash` of `mod`. */
  noteBy(mod: string, hash: string, by: string): void {
    this.#ledger.noteBy(mod, hash, by);
  }

  /** Waits for the ledger's writes. */
  flush(): Promise<void> {
    return this.#ledger.flush();
  }
}

import type { ModVersion } from "../compile/mod-version.js";
import type { FaultEvent } from "../model/mod-events.js";
import type { ModStore, RecoveredMod } from "../persist/mod-store.js";
import type { VersionStore } from "../persist/version-store.js";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import type { ProbationPolicy } from "../swap/probation.js";

/** The counters a slot feeds (the host's metrics provide them). */
export interface SlotMetrics {
  /** `count` events answered, each `latencyMs` after it was queued (a run queued by one call shares it). */
  events(mod: string, count: number, latencyMs: number): void;
  /** One of those events failed with `code`. */
  error(mod: string, code: string): void;
  checkpoint(mod: string, ms: number, bytes: number): void;
}

/** What a slot needs from whoever owns it (the host's slot registry). */
export interface SlotContext {
  readonly backend: SandboxBackend;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
  readonly quarantineAfter: number;
  /** Automatic rollback policy; undefined turns probation off. */
  readonly probation: ProbationPolicy | undefined;
  readonly historySize: number;
  /** The host's randomSeed option: the mod's first generator seed derives from it and the mod's name. */
  readonly randomSeed?: number;
  readonly metrics: SlotMetrics;
  /** Where the slot makes its state durable; undefined keeps it in memory only. */
  readonly persistence: SlotPersistence | undefined;
  fault(fault: FaultEvent): void;
  /** Journal storage stopped working for this mod, or works again (the host logs it and emits "recovery"). */
  storage(mod: string, ok: boolean, message: string): void;
  /**
   * The mod's instance was lost (its sandbox process died, or a stop tainted it) and was restored
   * from the checkpoint, `replayed` journaled events run again (the host emits "recovery").
   */
  restored?(mod: string, replayed: number): void;
  /** The set of versions this slot names changed (history moved on): stored versions may be prunable. */
  versionsChanged(): void;
  /** The live version failed probation: roll it back (through the swap coordinator's line for this mod). */
  probationFailed(reason: string): void;
}

/** A slot's durable storage: its own store, and the shared store of versions. */
export interface SlotPersistence {
  readonly store: ModStore;
  readonly versions: VersionStore;
}

/** A mod's state as recovered from disk, with its versions compiled again. */
export interface ResumeInput {
  readonly recovered: RecoveredMod;
  /** Every version the checkpoint, the journal and the history name, by hash. */
  readonly versions: ReadonlyMap<string, ModVersion>;
}

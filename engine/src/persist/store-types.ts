import type { ModhostError } from "../errors/modhost-error.js";
import type { StateSnapshot } from "../model/wire.js";
import type { DurableEntry } from "./durable-entry.js";
import type { RecoveryReport } from "./recovery-report.js";

/** What a mod's store remembers besides state: the live version, its history, its status. */
export interface ModMeta {
  readonly live: string;
  /** Earlier versions' hashes, oldest first. */
  readonly history: readonly string[];
  readonly quarantined: boolean;
}

/** A mod's durable state as found on disk. */
export interface RecoveredMod {
  readonly checkpoint: { readonly snapshot: StateSnapshot; readonly version: string };
  readonly entries: readonly DurableEntry[];
  readonly meta: ModMeta | undefined;
  readonly maxSeq: number;
  /** Damage found and repaired (a torn journal tail, a corrupt checkpoint). */
  readonly warnings: readonly string[];
}

/** What recover() found: no state, state to resume, or state that cannot be trusted. */
export type RecoveryOutcome =
  | { readonly kind: "fresh"; readonly report: RecoveryReport }
  | { readonly kind: "state"; readonly recovered: RecoveredMod; readonly report: RecoveryReport }
  | { readonly kind: "corrupt"; readonly error: ModhostError; readonly report: RecoveryReport };

/** Hooks for metrics. */
export interface StoreObserver {
  journalWrite(records: number, bytes: number): void;
  journalSync(ms: number): void;
}

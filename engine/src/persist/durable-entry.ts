import type { WireEvent } from "../model/wire.js";

/**
 * What the journal records, in order: an event that ran (with the capability answers it got),
 * a code handover to another version, or a migration into another version.
 */
export type DurableEntry =
  | { readonly kind: "event"; readonly event: WireEvent }
  | { readonly kind: "activate"; readonly version: string }
  | { readonly kind: "migrate"; readonly version: string; readonly fromVersion: string; readonly now: number };

/** Journal durability: what a returned emit result promises about its event. */
export type Durability = "fsync" | "batch" | "none";

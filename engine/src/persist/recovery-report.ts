/**
 * What recovery found in a mod's folder of the stateDir at start-up, as `mods()` and
 * `modhost status` show it.
 */
export interface RecoveryReport {
  /**
   * "fresh": no state was there (the mod started with init()); "recovered": the state came back
   * whole (a torn tail may have been cut: see `tailCut`); "corrupt": state is missing or damaged
   * and the mod is faulted with E_STATE_CORRUPT until the operator accepts the loss;
   * "loss-accepted": the operator accepted the loss and the mod continued from the last good point.
   */
  readonly outcome: "fresh" | "recovered" | "corrupt" | "loss-accepted";
  /** The checkpoint file the state started from. */
  readonly checkpoint?: string;
  /** Journal records replayed on top of it (events and code handovers). */
  readonly replayed: number;
  /** A write torn by a crash at the very end of the newest journal segment, cut there. */
  readonly tailCut?: { readonly file: string; readonly offset: number; readonly reason: string };
  /** Damaged or missing files: which file, what was wrong. */
  readonly damage: readonly string[];
  /** Copies of damaged files kept for inspection (paths under the mod's `damaged/` folder). */
  readonly keptAside: readonly string[];
  /** Everything else worth knowing (a damaged meta.json replaced, an older checkpoint used). */
  readonly warnings: readonly string[];
}

/** One line saying what recovery found (the message of the "startup" recovery event). */
export function describeRecovery(report: RecoveryReport): string {
  if (report.outcome === "fresh") return "no saved state: starting with init()";
  if (report.outcome === "corrupt") {
    return `saved state is damaged or incomplete; the mod is faulted (E_STATE_CORRUPT) until the loss is accepted${report.keptAside.length > 0 ? `; kept aside: ${report.keptAside.join(", ")}` : ""}`;
  }
  const how = report.outcome === "loss-accepted" ? "continued from the last good point (loss accepted)" : "recovered";
  const cut = report.tailCut !== undefined ? `; torn tail cut in ${report.tailCut.file} at byte ${report.tailCut.offset}` : "";
  return `${how}: ${report.checkpoint ?? "no checkpoint"} + ${report.replayed} journal records${cut}`;
}

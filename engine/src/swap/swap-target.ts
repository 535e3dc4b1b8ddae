import type { ModVersion, PrepareResult } from "../compile/mod-version.js";
import type { SwapPlan } from "../model/swap-plan.js";
import type { SwapReport } from "../model/swap-report.js";

/**
 * What the swap coordinator needs of one mod (the host's slot provides it): the live version and
 * its history, the patch held for approval, and the swap transaction itself. A port, so that the
 * planner does not import the host that executes the plan.
 */
export interface SwapTarget {
  readonly name: string;
  readonly version: ModVersion;
  /** Older versions, oldest first; the last one is what a rollback returns to. */
  readonly previousVersions: readonly ModVersion[];
  readonly pendingApproval: { readonly version: ModVersion; readonly plan: SwapPlan } | undefined;
  holdForApproval(version: ModVersion, plan: SwapPlan): void;
  clearPendingApproval(): void;
  swap(next: ModVersion, plan: SwapPlan): Promise<SwapReport>;
}

/** What the coordinator needs of the host's options and loader. */
export interface SwapSource {
  /** The host's type-check mode for new versions. */
  readonly typecheck: "block" | "warn" | "off";
  /** Reads and compiles a mod folder into a version (the host's loader, with its options). */
  prepare(dir: string): Promise<PrepareResult>;
}

import type { ErrorInfo } from "../errors/modhost-error.js";
import type { SwapChange, SwapPhases } from "./swap-report.js";

/** How a swap should bring the new version in. */
export interface SwapPlan {
  readonly kind: "swap" | "rollback";
  /** Run the new version's migrate() on the state (the state's shape changed). */
  readonly migrate: boolean;
  readonly changes: readonly SwapChange[];
  /** Phases already spent before the swap (compile, typecheck, analyze), in ms. */
  readonly phases: SwapPhases;
  /** When the reload began (performance.now()), for totalMs. */
  readonly startedAt: number;
  /** For automatic rollbacks: why. */
  readonly reason?: ErrorInfo;
}

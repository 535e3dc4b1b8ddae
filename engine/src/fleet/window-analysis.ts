/** What one version did in one window, summed over the servers whose heartbeat is alive. */
export interface VersionFigures {
  readonly events: number;
  readonly errors: number;
  readonly limits: number;
  readonly faults: number;
  readonly servers: number;
}

/** The analysis of one window. */
export interface WindowVerdict {
  readonly verdict: "pass" | "fail" | "inconclusive";
  /** Errors (failed events, limit hits included) over events, of the canary; null without events. */
  readonly canaryRate: number | null;
  readonly stableRate: number | null;
  readonly canary: VersionFigures;
  readonly stable: VersionFigures;
  readonly why: string;
  /** Servers with counters in the release whose heartbeat had expired: not counted. */
  readonly leftOut?: readonly string[];
}

/** The thresholds a window is judged by. */
export interface WindowPolicy {
  readonly maxErrorRate: number;
  readonly minEvents: number;
}

export const NO_FIGURES: VersionFigures = { events: 0, errors: 0, limits: 0, faults: 0, servers: 0 };

function rate(f: VersionFigures): number | null {
  return f.events === 0 ? null : Math.min(1, f.errors / f.events);
}

/**
 * Judges one window: too few canary events is inconclusive; a canary error rate above the
 * threshold fails; so does one clearly worse than stable's in the same window (more than twice
 * stable's and more than half the threshold above it, with stable itself having enough events);
 * otherwise it passes.
 */
export function analyzeWindow(canary: VersionFigures, stable: VersionFigures, policy: WindowPolicy): WindowVerdict {
  const canaryRate = rate(canary);
  const stableRate = rate(stable);
  const pct = (r: number | null): string => (r === null ? "n/a" : `${(r * 100).toFixed(2)} %`);
  const base = { canaryRate, stableRate, canary, stable };
  if (canary.events < Math.max(1, policy.minEvents) || canaryRate === null) {
    return { ...base, verdict: "inconclusive", why: `${canary.events} canary events (at least ${policy.minEvents} needed)` };
  }
  if (canaryRate > policy.maxErrorRate) {
    return { ...base, verdict: "fail", why: `canary error rate ${pct(canaryRate)} over ${canary.events} events is above ${pct(policy.maxErrorRate)}` };
  }
  if (stableRate !== null && stable.events >= policy.minEvents && canaryRate > 2 * stableRate && canaryRate - stableRate > policy.maxErrorRate / 2) {
    return { ...base, verdict: "fail", why: `canary error rate ${pct(canaryRate)} is clearly worse than stable's ${pct(stableRate)} in the same window` };
  }
  return { ...base, verdict: "pass", why: `canary error rate ${pct(canaryRate)} over ${canary.events} events (stable ${pct(stableRate)})` };
}

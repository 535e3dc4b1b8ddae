/** Percentiles of one set of samples, in ms (rounded to the microsecond). */
export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly count: number;
}

/** Collects latency samples by phase (e.g. before, during and after the hot patches). */
export class LatencyRecorder<Phase extends string> {
  readonly #samples = new Map<Phase, number[]>();

  record(phase: Phase, ms: number): void {
    let list = this.#samples.get(phase);
    if (list === undefined) {
      list = [];
      this.#samples.set(phase, list);
    }
    list.push(ms);
  }

  /** p50, p99 and max of a phase (zeros when it has no samples). */
  summary(phase: Phase): LatencySummary {
    const sorted = [...(this.#samples.get(phase) ?? [])].sort((a, b) => a - b);
    return { p50: round(percentile(sorted, 0.5)), p99: round(percentile(sorted, 0.99)), max: round(sorted.at(-1) ?? 0), count: sorted.length };
  }
}

/** The nearest-rank percentile of sorted samples (0 when there are none). */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

// Summary statistics for benchmark samples, and a flat metrics writer.
import { performance } from "node:perf_hooks";

/** Linear-interpolated percentile (p in [0, 100]) of an array of numbers. */
export function percentile(samples, p) {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  if (sorted.length === 1) return sorted[0];
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Median, p99, min, max and count of samples. */
export function summarize(samples) {
  return {
    median: percentile(samples, 50),
    p99: percentile(samples, 99),
    min: Math.min(...samples),
    max: Math.max(...samples),
    n: samples.length,
  };
}

/** Rounds to a few significant digits so the JSON stays readable. */
export function round(value, digits = 4) {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const factor = 10 ** Math.max(0, digits - 1 - magnitude);
  return Math.round(value * factor) / factor;
}

/**
 * Writes `key` = median and `key.p99` = p99 of `samples` into the flat `metrics` object, and
 * records the sample count under `counts`. Returns the summary.
 */
export function record(metrics, key, samples, counts) {
  const s = summarize(samples);
  metrics[key] = round(s.median);
  metrics[`${key}.p99`] = round(s.p99);
  if (counts) counts[key] = s.n;
  return s;
}

/** Writes a single derived value (no distribution) as both median and p99. */
export function recordValue(metrics, key, median, p99 = median) {
  metrics[key] = round(median);
  metrics[`${key}.p99`] = round(p99);
}

/** Milliseconds since an arbitrary origin (perf_hooks). */
export const nowMs = () => performance.now();

/** Nanoseconds as a Number from process.hrtime.bigint(). */
export const nowNs = () => Number(process.hrtime.bigint());

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets pending I/O callbacks and immediates run. */
export const tick = () => new Promise((resolve) => setImmediate(resolve));

// Helpers for the side-by-side figures: key names per runner, and ratios to the native floor.
import { percentile, round } from "./stats.js";

/**
 * Writes `<base>.p50_ms<suffix>` and `<base>.p99_ms<suffix>` from samples; returns { p50, p99 }.
 * No samples (every attempt failed, see `failures`): nothing is written, and p50 is NaN.
 */
export function putMs(metrics, counts, base, suffix, samples) {
  counts[`${base}${suffix}`] = samples.length;
  if (samples.length === 0) return { p50: Number.NaN, p99: Number.NaN };
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  metrics[`${base}.p50_ms${suffix}`] = round(p50);
  metrics[`${base}.p99_ms${suffix}`] = round(p99);
  return { p50, p99 };
}

/**
 * Ratio of a figure to the native floor of the same run: `key` = p50 / native p50, `key.p99` =
 * p99 / native p50 (how far the slow tail is from the floor's typical cost). Skipped (not written)
 * when the floor is not a positive number.
 */
export function putRatio(metrics, key, figure, nativeP50) {
  if (!(nativeP50 > 0) || !Number.isFinite(figure.p50)) return;
  metrics[key] = round(figure.p50 / nativeP50);
  metrics[`${key}.p99`] = round(figure.p99 / nativeP50);
}

/** Runs `fn(runner)` for every runner, rotating the starting runner each round (fair under drifting load). */
export async function roundRobin(runners, round, fn) {
  const n = runners.length;
  for (let k = 0; k < n; k++) await fn(runners[(round + k) % n]);
}

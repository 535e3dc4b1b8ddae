import { describeThrown } from "./describe-thrown.js";

/**
 * Ends a close() that went on past failures to release everything else: throws nothing when
 * `errors` is empty, the one error unchanged (its code and context intact) when there is one, and
 * an AggregateError holding every one, in the order they happened, when there are more, so
 * that no failure but the first is lost. `what` names what was being closed ("closing the host").
 */
export function throwCollected(errors: readonly unknown[], what: string): void {
  if (errors.length === 0) return;
  if (errors.length === 1) throw errors[0];
  throw new AggregateError(errors, `${what}: ${errors.length} steps failed: ${errors.map((err) => describeThrown(err, 200)).join("; ")}`);
}

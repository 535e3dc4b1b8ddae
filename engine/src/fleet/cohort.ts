import { createHash } from "node:crypto";

/**
 * A server's place in a release's canary order: a stable hash of (server, mod, release id) mapped
 * to [0, 100). A server is in the cohort when its place is under the percentage, so widening from
 * 5 % to 25 % keeps every server of the 5 % and adds others, and a server that joins mid-release
 * gets the version its place says. A new release (new id) shuffles the order, so the same servers
 * are not always the first to take a risk.
 */
export function cohortPlace(server: string, mod: string, releaseId: string): number {
  const digest = createHash("sha256").update(`${server}\u0000${mod}\u0000${releaseId}`).digest();
  // 48 bits are plenty to spread 10 000 servers evenly over 100.
  return (digest.readUIntBE(0, 6) / 2 ** 48) * 100;
}

/** True when `server` takes the canary of release `releaseId` of `mod` at `percent`. */
export function inCohort(server: string, mod: string, releaseId: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return cohortPlace(server, mod, releaseId) < percent;
}

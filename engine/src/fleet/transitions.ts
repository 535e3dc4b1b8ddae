import { ModhostError } from "../errors/modhost-error.js";
import type { ReleasePolicy, ReleaseRecord } from "./release-record.js";
import type { WindowVerdict } from "./window-analysis.js";

/** One decision: the record it leads to and what the audit stream says about it. */
export interface Transition {
  readonly record: ReleaseRecord;
  readonly action: "start" | "step" | "window-failed" | "wait" | "promote" | "abort" | "pause" | "resume" | "rollback";
  readonly figures?: WindowVerdict;
}

/** What `modhost release` asks for. */
export interface ReleaseRequest {
  readonly mod: string;
  readonly package: string;
  readonly version: string;
  readonly releaseId: string;
  readonly group: string | null;
  readonly policy: ReleasePolicy;
  readonly by: string;
  readonly now: number;
  /** Servers to add to the first step's cohort (see ReleaseRecord.pinned). */
  readonly pinned?: readonly string[];
}

/** True while a release is neither promoted nor aborted. */
export function isActive(record: ReleaseRecord | undefined): boolean {
  return record !== undefined && (record.phase === "rolling" || record.phase === "paused");
}

/** The version everyone runs once a release is over (or undefined when there is none). */
export function settledVersion(record: ReleaseRecord | undefined): string | undefined {
  if (record === undefined) return undefined;
  if (record.phase === "promoted") return record.canary;
  return record.stable ?? undefined;
}

function next(record: ReleaseRecord, changes: Partial<ReleaseRecord>, now: number, by: string, reason: string): ReleaseRecord {
  return { ...record, ...changes, epoch: record.epoch + 1, updatedAt: now, by, reason };
}

/** Starts a release; refuses while another release of the mod is under way (E_FLEET_CONFLICT). */
export function startRelease(previous: ReleaseRecord | undefined, request: ReleaseRequest, kind: "release" | "rollback" = "release"): Transition {
  if (previous !== undefined && isActive(previous)) {
    throw new ModhostError("E_FLEET_CONFLICT", `a release of ${request.mod} is under way (${previous.releaseId}: ${previous.canary} at ${previous.percent} %, ${previous.phase}); abort or promote it first`, { mod: request.mod });
  }
  const stable = settledVersion(previous) ?? null;
  if (stable === request.version) throw new ModhostError("E_FLEET_CONFLICT", `${request.mod}@${request.version} is already the fleet's stable version`, { mod: request.mod });
  const steps = kind === "rollback" ? [100] : request.policy.steps;
  const first = steps[0] ?? 100;
  const promoted = first >= 100 && steps.length === 1;
  const record: ReleaseRecord = {
    format: 1,
    mod: request.mod,
    package: request.package,
    releaseId: request.releaseId,
    epoch: (previous?.epoch ?? 0) + 1,
    kind,
    stable,
    canary: request.version,
    group: request.group,
    stepIndex: 0,
    percent: first,
    pinned: first < 100 ? [...(request.pinned ?? [])] : [],
    phase: promoted ? "promoted" : "rolling",
    failures: 0,
    stepStartedAt: request.now,
    updatedAt: request.now,
    reason: kind === "rollback" ? `rollback to ${request.version} (from ${stable ?? "nothing"})` : `release of ${request.version} starts at ${first} % (stable ${stable ?? "none"})`,
    by: request.by,
    policy: { ...request.policy, steps },
  };
  return { record, action: kind === "rollback" ? "rollback" : promoted ? "promote" : "start" };
}

/** Judges a finished window of a rolling release: step, promote, count a failure, abort or wait. */
export function afterWindow(record: ReleaseRecord, verdict: WindowVerdict, now: number, by: string, pinned: readonly string[] = []): Transition | undefined {
  if (record.phase !== "rolling") return undefined;
  if (verdict.verdict === "fail") {
    const failures = record.failures + 1;
    if (failures >= record.policy.failureLimit) return abortRelease(record, `${failures} failed window(s) (limit ${record.policy.failureLimit}); last: ${verdict.why}`, now, by, verdict);
    return { record: next(record, { failures }, now, by, `window failed (${failures}/${record.policy.failureLimit}): ${verdict.why}`), action: "window-failed", figures: verdict };
  }
  if (verdict.verdict === "inconclusive") {
    if (now - record.stepStartedAt >= record.policy.deadlineMs) return abortRelease(record, `step ${record.percent} % stayed inconclusive past its deadline (${record.policy.deadlineMs} ms): ${verdict.why}`, now, by, verdict);
    return undefined;
  }
  const index = record.stepIndex + 1;
  const percent = record.policy.steps[index];
  if (percent === undefined || percent >= 100) return promoteRelease(record, `healthy at ${record.percent} %: ${verdict.why}`, now, by, verdict);
  const union = [...new Set([...record.pinned, ...pinned])];
  return { record: next(record, { stepIndex: index, percent, stepStartedAt: now, pinned: union }, now, by, `widened to ${percent} %: ${verdict.why}`), action: "step", figures: verdict };
}

/** Promotes a release: everyone runs the canary. */
export function promoteRelease(record: ReleaseRecord, reason: string, now: number, by: string, figures?: WindowVerdict): Transition {
  if (!isActive(record)) throw new ModhostError("E_FLEET_STATE", `the release ${record.releaseId} of ${record.mod} is ${record.phase}: nothing to promote`, { mod: record.mod });
  return { record: next(record, { phase: "promoted", percent: 100, stepIndex: record.policy.steps.length - 1 }, now, by, `promoted: ${reason}`), action: "promote", ...(figures !== undefined ? { figures } : {}) };
}

/** Aborts a release: the canary goes to 0 % and every canary server swaps back to stable. */
export function abortRelease(record: ReleaseRecord, reason: string, now: number, by: string, figures?: WindowVerdict): Transition {
  if (!isActive(record)) throw new ModhostError("E_FLEET_STATE", `the release ${record.releaseId} of ${record.mod} is ${record.phase}: nothing to abort`, { mod: record.mod });
  return { record: next(record, { phase: "aborted", percent: 0 }, now, by, `aborted: ${reason}`), action: "abort", ...(figures !== undefined ? { figures } : {}) };
}

/** Pauses (the cohort stays, no window is judged) or resumes a rolling release. */
export function pauseRelease(record: ReleaseRecord, pause: boolean, now: number, by: string): Transition {
  const from = pause ? "rolling" : "paused";
  if (record.phase !== from) throw new ModhostError("E_FLEET_STATE", `the release ${record.releaseId} of ${record.mod} is ${record.phase}, not ${from}`, { mod: record.mod });
  // Resuming starts the step's clock again, so the pause does not count against its deadline.
  return { record: next(record, pause ? { phase: "paused" } : { phase: "rolling", stepStartedAt: now }, now, by, pause ? "paused by the operator" : "resumed by the operator"), action: pause ? "pause" : "resume" };
}

import semver from "semver";
import { ModhostError } from "../errors/modhost-error.js";
import { isFleetId, isModName } from "./fleet-keys.js";

/** How a rollout decides (see docs/fleet.md). */
export interface ReleasePolicy {
  /** Canary percentages in increasing order; the last one reached promotes (100 = everyone). */
  readonly steps: readonly number[];
  /** Length of one analysis window, ms. */
  readonly intervalMs: number;
  /** A window whose canary error rate is above this fails (0..1). */
  readonly maxErrorRate: number;
  /** Fewer canary events than this in a window is inconclusive: the step waits. */
  readonly minEvents: number;
  /** Failed windows (in one release) that abort it. */
  readonly failureLimit: number;
  /** How long one step may stay inconclusive before the release aborts, ms. */
  readonly deadlineMs: number;
}

/** Where a release is. `promoted` and `aborted` are final. */
export type ReleasePhase = "rolling" | "paused" | "promoted" | "aborted";

/** The release state of one mod, as stored in Redis (`release:<mod>` field `record`). */
export interface ReleaseRecord {
  readonly format: 1;
  readonly mod: string;
  /** The npm package carrying the mod. */
  readonly package: string;
  readonly releaseId: string;
  /** Bumped by every change; a change names the epoch it read (compare-and-set). */
  readonly epoch: number;
  /** "rollback" when it is a release of an older version made by `fleet rollback`. */
  readonly kind: "release" | "rollback";
  /** The version servers outside the cohort run; null when the mod had no release before. */
  readonly stable: string | null;
  readonly canary: string;
  /** Only servers of this group take part; null = every server. */
  readonly group: string | null;
  readonly stepIndex: number;
  readonly percent: number;
  /**
   * Servers added to the cohort by the controller so that a small step on a small fleet has at
   * least one canary (the hash alone may put none under 5 %); carried by every later step.
   */
  readonly pinned: readonly string[];
  readonly phase: ReleasePhase;
  readonly failures: number;
  readonly stepStartedAt: number;
  readonly updatedAt: number;
  /** Why the last change happened (a sentence). */
  readonly reason: string;
  /** Who made the last change: "controller:<id>" or "operator". */
  readonly by: string;
  readonly policy: ReleasePolicy;
}

const PHASES: readonly ReleasePhase[] = ["rolling", "paused", "promoted", "aborted"];
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]{0,213}$/;
const MAX_RECORD = 64 * 1024;

/** Serializes a record for Redis. */
export function encodeRelease(record: ReleaseRecord): string {
  return JSON.stringify(record);
}

/**
 * Parses what Redis holds for a mod's release, strictly: anything malformed, oversized, of the
 * wrong type or naming another mod is E_FLEET_DATA (hostile data in Redis is bad input; the
 * server keeps its current version and says so).
 */
export function parseRelease(text: unknown, epochField: unknown, expectedMod: string): ReleaseRecord {
  const bad = (why: string): never => {
    throw new ModhostError("E_FLEET_DATA", `the release record of ${expectedMod} in Redis is malformed: ${why}`, { mod: expectedMod });
  };
  if (typeof text !== "string") return bad("field `record` is missing");
  if (text.length > MAX_RECORD) return bad(`it is ${text.length} bytes (at most ${MAX_RECORD})`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return bad("it is not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return bad("it is not an object");
  const o = raw as Record<string, unknown>;
  const str = (key: string, test: (v: string) => boolean): string => {
    const v = o[key];
    if (typeof v !== "string" || !test(v)) bad(`\`${key}\` is ${JSON.stringify(v)?.slice(0, 80)}`);
    return v as string;
  };
  const int = (key: string, min: number, max: number, from: Record<string, unknown> = o): number => {
    const v = from[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) bad(`\`${key}\` must be a whole number in ${min}..${max}`);
    return v as number;
  };
  if (o.format !== 1) bad(`unknown format ${JSON.stringify(o.format)}`);
  const mod = str("mod", isModName);
  if (mod !== expectedMod) bad(`it names mod ${mod}`);
  const version = (v: string): boolean => semver.valid(v) === v;
  const stable = o.stable === null ? null : str("stable", version);
  const group = o.group === null ? null : str("group", isFleetId);
  const kind = str("kind", (v) => v === "release" || v === "rollback") as ReleaseRecord["kind"];
  const phase = str("phase", (v) => (PHASES as readonly string[]).includes(v)) as ReleasePhase;
  const p = o.policy;
  if (typeof p !== "object" || p === null || Array.isArray(p)) return bad("`policy` is not an object");
  const po = p as Record<string, unknown>;
  const steps = po.steps;
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > 20 || steps.some((s, i) => typeof s !== "number" || !Number.isInteger(s) || s < 1 || s > 100 || (i > 0 && s <= (steps[i - 1] as number)))) bad("`policy.steps` must be 1-20 increasing whole percentages");
  const rate = po.maxErrorRate;
  if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) bad("`policy.maxErrorRate` must be in 0..1");
  const policy: ReleasePolicy = {
    steps: steps as number[],
    intervalMs: int("intervalMs", 10, 86_400_000, po),
    maxErrorRate: rate as number,
    minEvents: int("minEvents", 0, 1e12, po),
    failureLimit: int("failureLimit", 1, 1000, po),
    deadlineMs: int("deadlineMs", 10, 7 * 86_400_000, po),
  };
  const epoch = int("epoch", 1, Number.MAX_SAFE_INTEGER);
  if (String(epoch) !== epochField) bad(`its epoch ${epoch} differs from the hash's ${JSON.stringify(epochField)}`);
  const stepIndex = int("stepIndex", -1, policy.steps.length - 1);
  const record: ReleaseRecord = {
    format: 1,
    mod,
    package: str("package", (v) => NPM_NAME.test(v)),
    releaseId: str("releaseId", isFleetId),
    epoch,
    kind,
    stable,
    canary: str("canary", version),
    group,
    stepIndex,
    percent: int("percent", 0, 100),
    pinned: Array.isArray(o.pinned) && o.pinned.length <= 100 && o.pinned.every(isFleetId) ? (o.pinned as string[]) : bad("`pinned` must be a list of at most 100 server ids"),
    phase,
    failures: int("failures", 0, 1_000_000),
    stepStartedAt: int("stepStartedAt", 0, Number.MAX_SAFE_INTEGER),
    updatedAt: int("updatedAt", 0, Number.MAX_SAFE_INTEGER),
    reason: typeof o.reason === "string" ? o.reason.slice(0, 2000) : bad("`reason` is not a string"),
    by: typeof o.by === "string" ? o.by.slice(0, 200) : bad("`by` is not a string"),
    policy,
  };
  return record;
}

/** The version a server of `group` runs under `record`, or undefined when the release has no say. */
export function targetVersion(record: ReleaseRecord, inCohort: boolean, group: string | undefined): string | undefined {
  if (record.group !== null && record.group !== group) return undefined;
  switch (record.phase) {
    case "promoted":
      return record.canary;
    case "aborted":
      return record.stable ?? undefined;
    default:
      return inCohort ? record.canary : (record.stable ?? undefined);
  }
}

import { performance } from "node:perf_hooks";
import { diffVersions, type SemanticDiff } from "../analysis/semantic-diff.js";
import { ModhostError, messageOf, type ErrorInfo } from "../errors/modhost-error.js";
import { isStackOverflow } from "../compile/source-limits.js";
import type { ModVersion } from "../compile/mod-version.js";
import type { SwapPlan } from "../model/swap-plan.js";
import { buildReport, type SwapChange, type SwapPhases, type SwapReport } from "../model/swap-report.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import type { SwapSource, SwapTarget } from "./swap-target.js";

/** Type-checks a version; returns E_TYPE errors (and may return warnings). */
export type VersionTypeChecker = (version: ModVersion, options?: { readonly firstLoad?: boolean }) => Promise<{ errors: ErrorInfo[]; ms: number }>;

/**
 * Runs reloads, rollbacks and approvals: compile, type-check, analyze (semantic diff), then the
 * slot's swap transaction. One at a time per mod; requests that arrive while one runs coalesce
 * into a single follow-up that reads the files afresh.
 */
export class SwapCoordinator {
  readonly #options: SwapSource;
  readonly #typecheck: VersionTypeChecker | undefined;
  readonly #onReport: (report: SwapReport) => void;
  readonly #warn: (mod: string, message: string) => void;
  /** Per mod: its line of swap operations, one at a time. */
  readonly #lines = new KeyedMutex<string>();
  /** Per mod: a reload that is queued and has not started yet (later reloads share it). */
  readonly #queuedReloads = new Map<string, Promise<SwapReport>>();

  constructor(options: SwapSource, typecheck: VersionTypeChecker | undefined, onReport: (report: SwapReport) => void, warn: (mod: string, message: string) => void) {
    this.#options = options;
    this.#typecheck = typecheck;
    this.#onReport = onReport;
    this.#warn = warn;
  }

  /** Reloads a mod from its folder. Calls made before it starts share its result. */
  reload(slot: SwapTarget): Promise<SwapReport> {
    const queued = this.#queuedReloads.get(slot.name);
    if (queued !== undefined) return queued;
    const reload = this.#lines.run(slot.name, () => {
      this.#queuedReloads.delete(slot.name); // from here on, a new request reads the files again
      return this.#reloadSteps(slot);
    });
    this.#queuedReloads.set(slot.name, reload);
    return reload;
  }

  /**
   * Returns a mod to its previous version, carrying the current state over; with `to`, to the
   * newest earlier version whose version string (or hash prefix) is `to`.
   */
  rollback(slot: SwapTarget, reason?: ErrorInfo, to?: string): Promise<SwapReport> {
    return this.#exclusive(slot, async () => {
      const startedAt = performance.now();
      const history = slot.previousVersions;
      const previous = to === undefined ? history.at(-1) : history.findLast((v) => v.manifest.version === to || (to.length >= 6 && v.hash.startsWith(to)));
      const from = slot.version;
      if (previous === undefined) {
        const message =
          to === undefined
            ? `mod ${slot.name} has no earlier version to roll back to`
            : `mod ${slot.name} has no earlier version "${to}" to roll back to (earlier versions: ${history.map((v) => v.manifest.version).join(", ") || "none"})`;
        return this.#emit(refusal(slot, startedAt, {}, [], { code: "E_NO_PREVIOUS_VERSION", message, mod: slot.name }, to));
      }
      const analyzeStart = performance.now();
      const diff = await diffVersions(from, previous).catch((err: unknown) => analysisFailure(slot.name, err));
      const phases: SwapPhases = { analyze: performance.now() - analyzeStart };
      if ("code" in diff) return this.#emit(refusal(slot, startedAt, phases, [], diff, previous.manifest.version));
      if (diff.stateShapeChanged && !diff.newHasMigrate) {
        return this.#emit(
          refusal(slot, startedAt, phases, diff.changes, {
            code: "E_MIGRATION_REQUIRED",
            message: `rolling back to ${previous.manifest.version} changes the state's shape (${diff.stateShapeReasons.join(", ")}) and that version has no migrate()`,
            mod: slot.name,
          }, previous.manifest.version),
        );
      }
      const plan: SwapPlan = { kind: "rollback", migrate: diff.stateShapeChanged, changes: diff.changes, phases, startedAt, ...(reason ? { reason } : {}) };
      return this.#emit(await slot.swap(previous, plan));
    });
  }

  /** Applies the version held for approval. */
  approve(slot: SwapTarget): Promise<SwapReport> {
    return this.#exclusive(slot, async () => {
      const startedAt = performance.now();
      const pending = slot.pendingApproval;
      if (pending === undefined) {
        return this.#emit(refusal(slot, startedAt, {}, [], { code: "E_NOTHING_TO_APPROVE", message: `mod ${slot.name} has no patch waiting for approval`, mod: slot.name }));
      }
      slot.clearPendingApproval();
      return this.#emit(await slot.swap(pending.version, { ...pending.plan, startedAt }));
    });
  }

  async #reloadSteps(slot: SwapTarget): Promise<SwapReport> {
    const startedAt = performance.now();
    const phases: { -readonly [K in keyof SwapPhases]: SwapPhases[K] } = {};
    const prepared = await this.#options.prepare(slot.version.dir);
    phases.compile = performance.now() - startedAt;
    if (!prepared.ok) return this.#emit(refusal(slot, startedAt, phases, [], prepared.error, prepared.version));
    const next = prepared.version;
    if (next.manifest.name !== slot.name) {
      return this.#emit(
        refusal(slot, startedAt, phases, [], { code: "E_MANIFEST_INVALID", message: `the mod's name changed from "${slot.name}" to "${next.manifest.name}"; a renamed mod is a new mod`, mod: slot.name, file: "mod.json", field: "name" }, next.manifest.version),
      );
    }
    const typeError = await this.#typeCheckStep(slot.name, next, phases);
    if (typeError !== undefined) return this.#emit(refusal(slot, startedAt, phases, [], typeError, next.manifest.version));
    const analyzeStart = performance.now();
    const diff = await diffVersions(slot.version, next).catch((err: unknown) => analysisFailure(slot.name, err));
    phases.analyze = performance.now() - analyzeStart;
    if ("code" in diff) return this.#emit(refusal(slot, startedAt, phases, [], diff, next.manifest.version));
    if (diff.definitionProblem !== undefined) {
      return this.#emit(refusal(slot, startedAt, phases, diff.changes, { code: "E_MOD_DEFINITION", message: diff.definitionProblem, mod: slot.name, file: next.manifest.entry }, next.manifest.version));
    }
    if (diff.noop) {
      const live = slot.version.manifest.version;
      return this.#emit(buildReport({ ok: true, mod: slot.name, kind: "noop", from: live, to: live, startedAt, phases }));
    }
    if (diff.stateShapeChanged && !diff.newHasMigrate) {
      return this.#emit(
        refusal(slot, startedAt, phases, diff.changes, {
          code: "E_MIGRATION_REQUIRED",
          message: `the state's shape changed (${diff.stateShapeReasons.join(", ")}); add a migrate(old, fromVersion) to the new version`,
          mod: slot.name,
          file: next.manifest.entry,
        }, next.manifest.version),
      );
    }
    const plan: SwapPlan = { kind: "swap", migrate: diff.stateShapeChanged, changes: diff.changes, phases, startedAt };
    const approval = approvalNeeded(diff);
    if (approval !== undefined) {
      slot.holdForApproval(next, plan);
      return this.#emit(refusal(slot, startedAt, phases, diff.changes, { code: "E_APPROVAL_REQUIRED", message: `${approval}; the operator must approve it (modhost approve ${slot.name})`, mod: slot.name, file: "mod.json" }, next.manifest.version));
    }
    slot.clearPendingApproval();
    return this.#emit(await slot.swap(next, plan));
  }

  /**
   * The type-check of a mod's first load (a new folder, or a mod starting without saved state),
   * under the same policy as a reload: the error that refuses it (E_TYPE with the first error's
   * .ts location, or why the check could not finish), or undefined (warnings are logged).
   */
  checkFirstLoad(version: ModVersion): Promise<ErrorInfo | undefined> {
    return this.#typeCheckStep(version.manifest.name, version, {}, true);
  }

  /** The type-check of a new version: the error that refuses it, or undefined (warnings logged). */
  async #typeCheckStep(mod: string, next: ModVersion, phases: { typecheck?: number }, firstLoad = false): Promise<ErrorInfo | undefined> {
    if (this.#typecheck === undefined || this.#options.typecheck === "off") return undefined;
    const start = performance.now();
    const checked = await this.#typecheck(next, { firstLoad }).catch((err: unknown) => ({ errors: [analysisFailure(mod, err)], ms: performance.now() - start }));
    phases.typecheck = checked.ms;
    // A check that could not finish (over budget, too complex) refuses under any policy.
    const unfinished = checked.errors.find((error) => error.code !== "E_TYPE");
    if (unfinished !== undefined) return unfinished;
    const first = checked.errors[0];
    if (first !== undefined && this.#options.typecheck === "block") {
      return { ...first, message: checked.errors.length > 1 ? `${first.message} (and ${checked.errors.length - 1} more)` : first.message };
    }
    for (const error of checked.errors) {
      this.#warn(mod, `type error (typecheck: "warn"): ${error.file ?? ""}:${error.line ?? 0}:${(error.column ?? 0) + 1} ${error.message}`);
    }
    return undefined;
  }

  /** Runs `fn` after every swap operation of this mod asked for before it. */
  #exclusive(slot: SwapTarget, fn: () => Promise<SwapReport>): Promise<SwapReport> {
    return this.#lines.run(slot.name, fn);
  }

  #emit(report: SwapReport): SwapReport {
    this.#onReport(report);
    return report;
  }
}

/** Why a version needs the operator's approval, if it does. */
function approvalNeeded(diff: SemanticDiff): string | undefined {
  const reasons: string[] = [];
  if (diff.permissionsAdded.length > 0) reasons.push(`it asks for new permissions: ${diff.permissionsAdded.join(", ")}`);
  if (diff.limitsRaised.length > 0) reasons.push(`it raises limits: ${diff.limitsRaised.join(", ")}`);
  return reasons.length > 0 ? reasons.join("; ") : undefined;
}

/**
 * What a failure of the type-check or the semantic diff (neither should throw) is reported as:
 * its own code when it has one, E_SOURCE_TOO_COMPLEX for a stack overflow on a hostile source,
 * E_INTERNAL otherwise. The reload is refused; the live version stays.
 */
function analysisFailure(mod: string, err: unknown): ErrorInfo {
  if (err instanceof ModhostError) return { ...err.toInfo(), mod };
  if (isStackOverflow(err)) return { code: "E_SOURCE_TOO_COMPLEX", message: "the new version's sources are nested too deeply to analyze (the stack overflowed); split them up", mod };
  return { code: "E_INTERNAL", message: `analyzing the new version failed: ${messageOf(err)}`, mod };
}

/** A report of a swap that did not happen: the live version stays. */
function refusal(slot: SwapTarget, startedAt: number, phases: SwapPhases, changes: readonly SwapChange[], error: ErrorInfo, attempted?: string): SwapReport {
  const live = slot.version.manifest.version;
  // `to` names the version that was refused; the live one when no version could be read.
  return buildReport({ ok: false, mod: slot.name, kind: "rejected", from: live, to: attempted ?? live, startedAt, phases, changes, error: { ...error, mod: slot.name } });
}

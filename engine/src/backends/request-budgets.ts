/**
 * The watchdog budget of each request the process backend sends (backends/request-watchdog.ts):
 * how long the sandbox may take to answer before it is presumed wedged. Each budget covers every
 * timed call the request makes, at its wall backstop (sandbox/cpu-budget.ts), because a starved
 * machine may stretch a healthy call that far; a budget from the call limits alone killed sandboxes
 * that were only slow.
 */
import type { LoadSpec } from "../model/wire.js";
import { DEFAULT_WALL_BACKSTOP_FACTOR, alignedMaxMs, backstopWallMs } from "../sandbox/cpu-budget.js";
import { locatesEvent, type CommitMode, type LocateRequest, type RestoreRequest } from "../sandbox/sandbox-backend.js";

/** What a commit of a handover costs at most (ms): no mod code runs. */
const HANDOVER_BUDGET_MS = 100;

/** Budgets for one backend's wall backstop factor. */
export class RequestBudgets {
  readonly #backstopFactor: number;

  constructor(wallBackstopFactor = DEFAULT_WALL_BACKSTOP_FACTOR) {
    this.#backstopFactor = wallBackstopFactor;
  }

  /**
   * A start, stage or adopt: up to two timed calls (loading the modules, then init/migrate/import),
   * each with a limit of 10x the call limit (sandbox/mod-instance.ts) that may run to its wall
   * backstop, and a start cut while starved runs once more in backstop mode
   * (sandbox/instance-registry.ts): four backstops.
   */
  start(callTimeoutMs: number): number {
    return 4 * backstopWallMs(callTimeoutMs * 10, this.#backstopFactor) + 1000;
  }

  /**
   * A dispatch: its events' limits, plus one call at the wall backstop (the rerun of an event cut
   * while starved may get that much CPU if the machine went idle meanwhile).
   */
  dispatch(callTimeoutMs: number, events: number): number {
    const perCall = dispatchCallMs(callTimeoutMs);
    return events * perCall + backstopWallMs(perCall, this.#backstopFactor);
  }

  /**
   * A commit: a migration runs mod code under 10x the staged version's limit (its deadline
   * aligned, sandbox/cpu-budget.ts); a handover does not.
   */
  commit(mode: CommitMode, stagedCallTimeoutMs: number): number {
    return mode.kind === "migrate" ? alignedMaxMs(stagedCallTimeoutMs * 10) : HANDOVER_BUDGET_MS;
  }

  /** A state export: one call under 10x the call limit, its deadline aligned. */
  exportState(callTimeoutMs: number): number {
    return alignedMaxMs(callTimeoutMs * 10);
  }

  /** A restore: what its start, dispatches, stages and commits would have had one by one. */
  restore(request: RestoreRequest): number {
    let timeout = request.spec.callTimeoutMs;
    let budget = this.start(timeout);
    for (const step of request.steps) {
      if (step.kind === "events") budget += this.dispatch(timeout, step.events.length);
      else {
        budget += this.start(step.spec.callTimeoutMs) + this.commit(step.mode, step.spec.callTimeoutMs);
        timeout = step.spec.callTimeoutMs;
      }
    }
    return budget;
  }

  /**
   * A timeout's location (sandbox/timeout-locator.ts): up to two profiled runs, each loading the
   * modules and the state (10x the call limit each, plus a second) and running the located call
   * to its wall backstop (an event's dispatch limit, or 10x the call limit for a load, init or
   * migrate). Unlike a start, no starved rerun is allowed for: locating is best effort, and a
   * starved machine costs the location, not the game. (A locating run that reaches its memory limit
   * deadlocks: backends/stall-watch.ts ends that sooner than this budget.)
   */
  locate(request: LocateRequest): number {
    const limit = request.spec.callTimeoutMs;
    const located = backstopWallMs(locatesEvent(request) ? dispatchCallMs(limit) : limit * 10, this.#backstopFactor);
    return 2 * (2 * backstopWallMs(limit * 10, 1) + located);
  }
}

/**
 * What one event of a dispatch may take against a call limit of `callTimeoutMs`: the limit and
 * the slice (a tenth), with the deadline's alignment (sandbox/cpu-budget.ts alignedTimeoutMs).
 */
function dispatchCallMs(callTimeoutMs: number): number {
  return alignedMaxMs(Math.ceil(callTimeoutMs * 1.1 + 1));
}

/** The version a restore leaves live: its last version step's, or the one it starts from. */
export function restoredSpec(request: RestoreRequest): LoadSpec {
  let live = request.spec;
  for (const step of request.steps) if (step.kind === "version") live = step.spec;
  return live;
}

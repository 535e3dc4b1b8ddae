import { ModhostError, isModhostError } from "../errors/modhost-error.js";
import { cohortPlace } from "./cohort.js";
import type { FleetStore, HealthCounters, Heartbeat } from "./fleet-store.js";
import { windowFigures } from "./fleet-store.js";
import type { ReleaseRecord } from "./release-record.js";
import { abortRelease, afterWindow, isActive, pauseRelease, promoteRelease, settledVersion, startRelease, type ReleaseRequest, type Transition } from "./transitions.js";
import { analyzeWindow, type WindowVerdict } from "./window-analysis.js";

/** What the controller tells whoever follows it (the CLI prints one line per event). */
export type ControllerEvent =
  | { readonly kind: "transition"; readonly transition: Transition }
  | { readonly kind: "window"; readonly record: ReleaseRecord; readonly verdict: WindowVerdict }
  | { readonly kind: "conflict"; readonly message: string };

/** Controller settings. */
export interface ControllerOptions {
  readonly store: FleetStore;
  /** This controller's id (lease owner), e.g. "cli:<host>:<pid>". */
  readonly owner: string;
  /** How often it looks at refusals and the clock, ms (default min(1000, interval / 4)). */
  readonly tickMs?: number;
  /** Lease time to live, ms (default 10 000): a controller that dies is replaced after this. */
  readonly leaseMs?: number;
  readonly onEvent?: (event: ControllerEvent) => void;
}

/**
 * Drives releases: starts them, judges each analysis window from the servers' counters, steps,
 * promotes or aborts, and carries out the operator's commands. Every change is a compare-and-set
 * on the release's epoch (a Lua script), and a driving controller also holds the mod's lease, so
 * a second controller cannot double a step; one that dies mid-rollout is replaced by the next
 * `modhost fleet resume` (or `release`) once its lease expires, continuing from the stored step.
 */
export class FleetController {
  readonly #o: ControllerOptions;

  constructor(options: ControllerOptions) {
    this.#o = options;
  }

  get #by(): string {
    return `controller:${this.#o.owner}`;
  }

  /** Starts a release (or a rollback: a release of an older version, promoted at once). */
  async start(request: Omit<ReleaseRequest, "pinned">, kind: "release" | "rollback" = "release"): Promise<ReleaseRecord> {
    const previous = await this.#o.store.release(request.mod);
    const first = kind === "rollback" ? 100 : (request.policy.steps[0] ?? 100);
    const pinned = first < 100 ? await this.#pin(request.mod, request.releaseId, first, [], request.group) : [];
    const transition = startRelease(previous, { ...request, pinned }, kind);
    await this.#o.store.apply(transition, previous?.epoch ?? 0);
    this.#o.onEvent?.({ kind: "transition", transition });
    return transition.record;
  }

  /** `modhost fleet rollback <mod> [--to <version>]`: a new release of an older version. */
  async rollback(mod: string, to: string | undefined, releaseId: string, now = Date.now()): Promise<ReleaseRecord> {
    const current = await this.#o.store.release(mod);
    if (current === undefined) throw new ModhostError("E_FLEET_STATE", `${mod} has no release to roll back`, { mod });
    if (isActive(current)) await this.command(mod, "abort", "aborted for a rollback");
    const after = (await this.#o.store.release(mod)) ?? current;
    const version = to ?? (after.phase === "promoted" ? after.stable : undefined) ?? undefined;
    if (version === undefined) throw new ModhostError("E_FLEET_STATE", `${mod} has no earlier version to roll back to; name one with --to`, { mod });
    return this.start({ mod, package: after.package, version, releaseId, group: after.group, policy: after.policy, by: "operator", now }, "rollback");
  }

  /** An operator's promote, pause, resume or abort (fenced by the epoch it read). */
  async command(mod: string, action: "promote" | "pause" | "resume" | "abort", reason?: string): Promise<ReleaseRecord> {
    const record = await this.#o.store.release(mod);
    if (record === undefined) throw new ModhostError("E_FLEET_STATE", `${mod} has no release`, { mod });
    const now = Date.now();
    const transition =
      action === "promote" ? promoteRelease(record, reason ?? "by the operator", now, "operator")
      : action === "abort" ? abortRelease(record, reason ?? "by the operator", now, "operator")
      : pauseRelease(record, action === "pause", now, "operator");
    await this.#o.store.apply(transition, record.epoch);
    this.#o.onEvent?.({ kind: "transition", transition });
    return transition.record;
  }

  /**
   * Drives the release of `mod` until it is promoted or aborted (or `signal` aborts), holding the
   * lease. Throws E_FLEET_LEASE when another controller drives it.
   */
  async drive(mod: string, signal?: AbortSignal): Promise<ReleaseRecord> {
    const { store } = this.#o;
    const leaseMs = this.#o.leaseMs ?? 10_000;
    await store.takeLease(mod, this.#o.owner, leaseMs);
    let window: { epoch: number; releaseId: string; at: number; counters: HealthCounters } | undefined;
    try {
      for (;;) {
        const record = await store.release(mod);
        if (record === undefined) throw new ModhostError("E_FLEET_STATE", `${mod} has no release`, { mod });
        if (!isActive(record) || signal?.aborted === true) return record;
        await store.takeLease(mod, this.#o.owner, leaseMs);
        const now = Date.now();
        const tick = this.#o.tickMs ?? Math.max(20, Math.min(1000, record.policy.intervalMs / 4));
        if (record.phase === "paused") {
          window = undefined;
          await sleep(tick, signal);
          continue;
        }
        // A refusal aborts at once.
        const refusals = (await store.refusals(mod, record.releaseId)).filter((r) => r.version === record.canary);
        if (refusals.length > 0) {
          const r = refusals[0]!;
          await this.#apply(abortRelease(record, `server ${r.server} refused ${record.canary}: ${r.code}: ${r.message}`, now, this.#by), record.epoch);
          continue;
        }
        if (window === undefined || window.epoch !== record.epoch || window.releaseId !== record.releaseId) {
          // A new step (or a resumed controller) starts a fresh window.
          window = { epoch: record.epoch, releaseId: record.releaseId, at: now, counters: await store.health(mod, record.releaseId) };
        } else if (now - window.at >= record.policy.intervalMs) {
          const counters = await store.health(mod, record.releaseId);
          const beats = await store.heartbeats();
          const alive = new Set(beats.filter((b) => record.group === null || b.group === record.group).map((b) => b.server));
          const canary = windowFigures(window.counters, counters, record.canary, alive);
          const stable = windowFigures(window.counters, counters, record.stable, alive);
          // Servers that reported in this release but whose heartbeat expired are left out of
          // the figures (a stopped server's last counts say nothing about now); the audit names them.
          const beating = new Set(beats.map((b) => b.server));
          const leftOut = [...counters.keys()].filter((server) => !beating.has(server)).sort().slice(0, 100);
          const verdict: WindowVerdict = { ...analyzeWindow(canary, stable, record.policy), ...(leftOut.length > 0 ? { leftOut } : {}) };
          this.#o.onEvent?.({ kind: "window", record, verdict });
          const nextPercent = record.policy.steps[record.stepIndex + 1];
          const pinned = verdict.verdict === "pass" && nextPercent !== undefined && nextPercent < 100 ? await this.#pin(mod, record.releaseId, nextPercent, record.pinned, record.group, beats) : [];
          const transition = afterWindow(record, verdict, now, this.#by, pinned);
          window = { epoch: transition?.record.epoch ?? record.epoch, releaseId: record.releaseId, at: now, counters };
          if (transition !== undefined) await this.#apply(transition, record.epoch);
        }
        await sleep(tick, signal);
      }
    } finally {
      await store.dropLease(mod, this.#o.owner).catch(() => undefined);
    }
  }

  async #apply(transition: Transition, epoch: number): Promise<void> {
    try {
      await this.#o.store.apply(transition, epoch, this.#o.owner);
      this.#o.onEvent?.({ kind: "transition", transition });
    } catch (err) {
      // An operator changed the release first: read it again and go on from there.
      if (!isModhostError(err, "E_FLEET_CONFLICT")) throw err;
      this.#o.onEvent?.({ kind: "conflict", message: err.message });
    }
  }

  /**
   * Servers to pin so that a step of `percent` has at least one canary: when no live server of
   * the group running the mod falls under the percentage, the one with the lowest place.
   */
  async #pin(mod: string, releaseId: string, percent: number, pinned: readonly string[], group: string | null, beats?: Heartbeat[]): Promise<string[]> {
    const live = (beats ?? (await this.#o.store.heartbeats())).filter((b) => (group === null || b.group === group) && b.mods[mod] !== undefined);
    const places = live.map((b) => ({ server: b.server, place: cohortPlace(b.server, mod, releaseId) })).sort((a, b) => a.place - b.place);
    if (places.some((p) => p.place < percent || pinned.includes(p.server))) return [...pinned];
    return places[0] !== undefined ? [...pinned, places[0].server] : [...pinned];
  }
}

/** The version a mod's fleet runs when no release is under way (for `fleet status`). */
export { settledVersion };

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

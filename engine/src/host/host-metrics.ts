import type { RegistryMetrics } from "./host-packages.js";
import type { CapabilityMetrics } from "./capability-gate.js";
import type { FaultEvent } from "../model/mod-events.js";
import type { SwapReport } from "../model/swap-report.js";

/** Upper bounds (ms) of the latency histogram's buckets; the last bucket is +Inf. */
export const LATENCY_BUCKETS_MS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000] as const;

/** One mod's counters. */
export interface ModMetrics {
  readonly events: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Cumulative counts per bucket of LATENCY_BUCKETS_MS, then +Inf (Prometheus style). */
  readonly latencyBuckets: readonly number[];
  readonly latencySumMs: number;
  readonly swaps: number;
  readonly rollbacks: number;
  readonly rejectedSwaps: number;
  readonly quarantines: number;
  readonly faults: number;
  readonly checkpoints: number;
  readonly checkpointMsTotal: number;
  readonly checkpointBytesLast: number;
}

/** The host's counters, as plain data. */
export interface MetricsSnapshot {
  readonly mods: Readonly<Record<string, ModMetrics>>;
  readonly journal: { readonly records: number; readonly bytes: number; readonly syncs: number; readonly syncMsTotal: number };
  readonly sandboxRestarts: number;
  /** Capability calls by permission: how the game's functions answered (see CapabilityGate). */
  readonly capabilities?: Readonly<Record<string, CapabilityMetrics>>;
  /** The registry follower's counters (present when the host follows packages or verifies them). */
  readonly registry?: RegistryMetrics;
}

interface MutableModMetrics {
  events: number;
  errors: Record<string, number>;
  buckets: number[];
  latencySumMs: number;
  swaps: number;
  rollbacks: number;
  rejectedSwaps: number;
  quarantines: number;
  faults: number;
  checkpoints: number;
  checkpointMsTotal: number;
  checkpointBytesLast: number;
}

/** Counts what happens in a host. Cheap enough to sit on the event path (a few adds per event). */
export class HostMetrics {
  readonly #mods = new Map<string, MutableModMetrics>();
  readonly #journal = { records: 0, bytes: 0, syncs: 0, syncMsTotal: 0 };
  #sandboxRestarts = 0;

  /**
   * Counts `count` events of `mod` answered `latencyMs` after they were queued. The runner calls it
   * once per run of events queued together (one emitMany() share shares its queue time), so the
   * histogram costs one update per batch, not per event; the figures are the same as per event.
   */
  events(mod: string, count: number, latencyMs: number): void {
    const m = this.#mod(mod);
    m.events += count;
    m.latencySumMs += latencyMs * count;
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && latencyMs > (LATENCY_BUCKETS_MS[i] as number)) i++;
    m.buckets[i] = (m.buckets[i] ?? 0) + count;
  }

  /** Counts one failed event of `mod` by its error code (the event itself is counted by events()). */
  error(mod: string, code: string): void {
    const m = this.#mod(mod);
    m.errors[code] = (m.errors[code] ?? 0) + 1;
  }

  swap(report: SwapReport): void {
    const m = this.#mod(report.mod);
    if (!report.ok) m.rejectedSwaps++;
    else if (report.kind === "rollback") m.rollbacks++;
    else if (report.kind === "swap") m.swaps++;
  }

  fault(fault: FaultEvent): void {
    const m = this.#mod(fault.mod);
    m.faults++;
    if (fault.quarantined) m.quarantines++;
  }

  checkpoint(mod: string, ms: number, bytes: number): void {
    const m = this.#mod(mod);
    m.checkpoints++;
    m.checkpointMsTotal += ms;
    m.checkpointBytesLast = bytes;
  }

  journalWrite(records: number, bytes: number): void {
    this.#journal.records += records;
    this.#journal.bytes += bytes;
  }

  journalSync(ms: number): void {
    this.#journal.syncs++;
    this.#journal.syncMsTotal += ms;
  }

  sandboxRestart(): void {
    this.#sandboxRestarts++;
  }

  snapshot(): MetricsSnapshot {
    const mods: Record<string, ModMetrics> = {};
    for (const [name, m] of this.#mods) {
      const cumulative: number[] = [];
      let total = 0;
      for (let i = 0; i <= LATENCY_BUCKETS_MS.length; i++) {
        total += m.buckets[i] ?? 0;
        cumulative.push(total);
      }
      mods[name] = {
        events: m.events,
        errors: { ...m.errors },
        latencyBuckets: cumulative,
        latencySumMs: m.latencySumMs,
        swaps: m.swaps,
        rollbacks: m.rollbacks,
        rejectedSwaps: m.rejectedSwaps,
        quarantines: m.quarantines,
        faults: m.faults,
        checkpoints: m.checkpoints,
        checkpointMsTotal: m.checkpointMsTotal,
        checkpointBytesLast: m.checkpointBytesLast,
      };
    }
    return { mods, journal: { ...this.#journal }, sandboxRestarts: this.#sandboxRestarts };
  }

  #mod(name: string): MutableModMetrics {
    let m = this.#mods.get(name);
    if (m === undefined) {
      m = { events: 0, errors: {}, buckets: [], latencySumMs: 0, swaps: 0, rollbacks: 0, rejectedSwaps: 0, quarantines: 0, faults: 0, checkpoints: 0, checkpointMsTotal: 0, checkpointBytesLast: 0 };
      this.#mods.set(name, m);
    }
    return m;
  }
}

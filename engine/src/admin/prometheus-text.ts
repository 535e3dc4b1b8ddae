import { LATENCY_BUCKETS_MS, type MetricsSnapshot, type ModMetrics } from "../host/host-metrics.js";
import type { ModInfo } from "../host/mod-host.js";
import type { HeapUse } from "./protocol.js";

/** The Content-Type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Readonly<Record<string, string>>;

const ZERO: ModMetrics = {
  events: 0,
  errors: {},
  latencyBuckets: [],
  latencySumMs: 0,
  swaps: 0,
  rollbacks: 0,
  rejectedSwaps: 0,
  quarantines: 0,
  faults: 0,
  checkpoints: 0,
  checkpointMsTotal: 0,
  checkpointBytesLast: 0,
};

/** Collects metric families in the text exposition format. */
class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: () => void): void {
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    samples();
  }

  sample(name: string, labels: Labels, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    this.#lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
  }

  text(): string {
    return `${this.#lines.join("\n")}\n`;
  }
}

/**
 * Renders the host's metrics in the Prometheus text format (version 0.0.4): per mod events,
 * errors by code, the call latency histogram (in seconds, as Prometheus names durations), heap
 * used and limit, swaps, rollbacks, rejected swaps, faults, quarantines and checkpoints; per host
 * journal figures and sandbox restarts; and `modhost_mod_info` with each mod's version and status.
 */
export function formatPrometheus(metrics: MetricsSnapshot, heaps: HeapUse, mods: readonly ModInfo[]): string {
  const out = new Exposition();
  // Every mod the host knows gets every series, at zero before anything happened to it.
  const names = [...new Set([...Object.keys(metrics.mods), ...mods.map((m) => m.name)])].sort((a, b) => a.localeCompare(b));
  const perMod = names.map((name): [string, ModMetrics] => [name, metrics.mods[name] ?? ZERO]);
  const counter = (name: string, help: string, pick: (m: ModMetrics) => number): void =>
    out.family(name, "counter", help, () => {
      for (const [mod, m] of perMod) out.sample(name, { mod }, pick(m));
    });

  out.family("modhost_mod_info", "gauge", "Each mod known to the host (value 1), with its version and status.", () => {
    for (const mod of mods) out.sample("modhost_mod_info", { mod: mod.name, version: mod.version, status: mod.status }, 1);
  });
  counter("modhost_events_total", "Events handled by the mod.", (m) => m.events);
  out.family("modhost_errors_total", "counter", "Events the mod failed, by error code.", () => {
    for (const [mod, m] of perMod) {
      for (const [code, count] of Object.entries(m.errors).sort(([a], [b]) => a.localeCompare(b))) out.sample("modhost_errors_total", { mod, code }, count);
    }
  });
  out.family("modhost_call_duration_seconds", "histogram", "Time the mod took to handle an event.", () => {
    for (const [mod, m] of perMod) {
      LATENCY_BUCKETS_MS.forEach((ms, i) => out.sample("modhost_call_duration_seconds_bucket", { mod, le: formatValue(ms / 1000) }, m.latencyBuckets[i] ?? 0));
      const count = m.latencyBuckets[LATENCY_BUCKETS_MS.length] ?? 0;
      out.sample("modhost_call_duration_seconds_bucket", { mod, le: "+Inf" }, count);
      out.sample("modhost_call_duration_seconds_sum", { mod }, m.latencySumMs / 1000);
      out.sample("modhost_call_duration_seconds_count", { mod }, count);
    }
  });
  const heapEntries = Object.entries(heaps).sort(([a], [b]) => a.localeCompare(b));
  out.family("modhost_heap_used_bytes", "gauge", "Heap used by the mod's isolate.", () => {
    for (const [mod, heap] of heapEntries) out.sample("modhost_heap_used_bytes", { mod }, heap.usedBytes);
  });
  out.family("modhost_heap_limit_bytes", "gauge", "Heap limit of the mod's isolate.", () => {
    for (const [mod, heap] of heapEntries) out.sample("modhost_heap_limit_bytes", { mod }, heap.limitBytes);
  });
  counter("modhost_swaps_total", "Versions swapped in (reloads, deploys, approvals).", (m) => m.swaps);
  counter("modhost_rollbacks_total", "Rollbacks to an earlier version (asked for or automatic).", (m) => m.rollbacks);
  counter("modhost_rejected_swaps_total", "Swaps refused (compile errors, migration or approval required...).", (m) => m.rejectedSwaps);
  counter("modhost_faults_total", "Faults: timeouts, memory limits, sandbox crashes.", (m) => m.faults);
  counter("modhost_quarantines_total", "Times the mod was quarantined.", (m) => m.quarantines);
  counter("modhost_checkpoints_total", "Checkpoints of the mod's state.", (m) => m.checkpoints);
  counter("modhost_checkpoint_seconds_total", "Time spent taking checkpoints.", (m) => m.checkpointMsTotal / 1000);
  out.family("modhost_checkpoint_last_bytes", "gauge", "Size of the mod's last checkpoint.", () => {
    for (const [mod, m] of perMod) out.sample("modhost_checkpoint_last_bytes", { mod }, m.checkpointBytesLast);
  });
  const host = (name: string, help: string, value: number): void => out.family(name, "counter", help, () => out.sample(name, {}, value));
  host("modhost_journal_records_total", "Records appended to the journal.", metrics.journal.records);
  host("modhost_journal_bytes_total", "Bytes appended to the journal.", metrics.journal.bytes);
  host("modhost_journal_syncs_total", "Journal syncs to disk.", metrics.journal.syncs);
  host("modhost_journal_sync_seconds_total", "Time spent syncing the journal.", metrics.journal.syncMsTotal / 1000);
  host("modhost_sandbox_restarts_total", "Times the sandbox process died and was restarted.", metrics.sandboxRestarts);
  const registry = metrics.registry;
  if (registry !== undefined) {
    host("modhost_registry_packument_requests_total", "Packument requests to the registry (304s included).", registry.packumentRequests);
    host("modhost_registry_not_modified_total", "Packument requests answered 304 Not Modified.", registry.notModified);
    host("modhost_registry_tarball_downloads_total", "Package tarballs downloaded.", registry.tarballDownloads);
    host("modhost_registry_installs_total", "Verified packages installed.", registry.installs);
    out.family("modhost_registry_failures_total", "counter", "Registry failures and refused packages, by error code.", () => {
      for (const [code, n] of Object.entries(registry.failures)) out.sample("modhost_registry_failures_total", { code }, n);
    });
  }
  return out.text();
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

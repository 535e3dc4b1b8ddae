import { ProcessPool } from "../backends/process-pool.js";
import type { PrepareResult } from "../compile/mod-version.js";
import type { SandboxBridge } from "../model/wire.js";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import { CapabilityGate } from "./capability-gate.js";
import { HostEvents } from "./host-events.js";
import { HostMetrics } from "./host-metrics.js";
import type { ModHostOptions, ResolvedOptions } from "./host-options.js";
import { prepareFolders, resolveHostOptions, startBackend } from "./host-setup.js";
import type { SlotRegistry } from "./slot-registry.js";

/** What ModHost.create() builds before the host itself: options, streams, the gate, the sandbox. */
export interface HostParts {
  readonly resolved: ResolvedOptions;
  readonly metrics: HostMetrics;
  readonly events: HostEvents;
  readonly gate: CapabilityGate;
  readonly backend: SandboxBackend;
  /** The mod folders, compiled while the sandbox started. */
  readonly folders: Promise<{ dir: string; result: PrepareResult }[]>;
  /** Gives the gate the registry it finds slots in (the registry needs the backend, so it comes later). */
  readonly bindRegistry: (registry: SlotRegistry) => void;
}

/**
 * Validates the options and starts the sandbox while the mods compile (its spawn costs ~140 ms on
 * its own). The sandbox calls the capability gate and the log stream directly: the facade is not in
 * their path. Rejects with the options' or the sandbox's error.
 */
export async function assembleHost(options: ModHostOptions): Promise<HostParts> {
  const resolved = await resolveHostOptions(options);
  const metrics = new HostMetrics();
  const events = new HostEvents(metrics, resolved.logRatePerSecond);
  let registry: SlotRegistry | undefined;
  const gate = new CapabilityGate({
    capabilities: resolved.capabilities,
    grants: resolved.grants,
    limits: resolved.capabilityLimits,
    slotOf: (mod) => registry?.get(mod),
    report: { log: (mod, level, message) => events.log({ mod, level, message }) },
  });
  const bridge: SandboxBridge = { log: (mod, level, message) => events.modLog(mod, level, message), capability: (call) => gate.answer(call) };
  const backendReady = startBackend(resolved, bridge);
  const folders = prepareFolders(resolved);
  const backend = await backendReady.catch(async (err: unknown) => {
    // Let the compiles end (their errors are moot now) before the caller sees the sandbox's error.
    await folders.catch((compileError: unknown) => void compileError);
    throw err;
  });
  backend.onCrash((crash) => events.sandboxCrashed(crash));
  if (backend instanceof ProcessPool) backend.onIsolated((moved) => events.log({ mod: moved.mod, level: "warn", message: moved.message }));
  return { resolved, metrics, events, gate, backend, folders, bindRegistry: (r) => (registry = r) };
}

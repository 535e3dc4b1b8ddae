import { ProcessPool } from "../backends/process-pool.js";
import type { PrepareResult } from "../compile/mod-version.js";
import type { SandboxBridge } from "../model/wire.js";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import { CapabilityGate } from "./capability-gate.js";
import { HostEvents } from "./host-events.js";
import { HostMetrics } from "./host-metrics.js";
import type { ModHostOptions, ResolvedOptions } from "./host-options.js";
import { prepareFolders, resolveHostOptions, startBackend } from "./host-setup.js";
import { prepareMod } from "./mod-loader.js";
import { SlotRegistry } from "./slot-registry.js";
import { SwapCoordinator } from "../swap/swap-coordinator.js";
import { HostVersions } from "./host-versions.js";
import { VersionTypeCheck } from "./version-type-check.js";

/** What ModHost.create() builds before it brings the mods up; the host owns every part. */
export interface HostParts {
  readonly resolved: ResolvedOptions;
  readonly metrics: HostMetrics;
  readonly events: HostEvents;
  /** Answers the mods' capability calls (grants, caps, the game's failures and slowness); the sandbox bridge calls it directly. */
  readonly gate: CapabilityGate;
  readonly backend: SandboxBackend;
  /** The mod folders, compiled while the sandbox started. */
  readonly folders: Promise<{ dir: string; result: PrepareResult }[]>;
  readonly typeCheck: VersionTypeCheck;
  readonly swaps: SwapCoordinator;
  /** The loaded mods and the folders that failed: loading, resuming, watching. */
  readonly registry: SlotRegistry;
  /** When and how each version went live, and why a held one is held. */
  readonly versions: HostVersions;
}

/**
 * Validates the options and starts the sandbox while the mods compile (its spawn costs ~140 ms on
 * its own). The sandbox calls the capability gate and the log stream directly: the facade is not in
 * their path. Then builds what needs the sandbox: type-check, swap coordinator, slot registry
 * (`closed` tells it the host has begun to close), version history. Rejects with the options' or
 * the sandbox's error.
 */
export async function assembleHost(options: ModHostOptions, closed: () => boolean): Promise<HostParts> {
  const resolved = await resolveHostOptions(options);
  const metrics = new HostMetrics();
  const events = new HostEvents(metrics, resolved.logRatePerSecond);
  // The gate finds slots in the registry, which needs the sandbox: it comes last.
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
  const typeCheck = new VersionTypeCheck({ modTypes: resolved.modTypes, budgetMs: resolved.typecheckBudgetMs, memoryMb: resolved.typecheckMemoryMb, diskCache: resolved.diskCache ?? resolved.verdictCache });
  const swaps = new SwapCoordinator({ typecheck: resolved.typecheck, prepare: (dir) => prepareMod(dir, resolved) }, (version, options) => typeCheck.check(version, options), (report) => events.swap(report), (mod, message) => events.log({ mod, level: "warn", message }));
  const slots = new SlotRegistry({ options: resolved, backend, metrics, events, swaps, closed });
  registry = slots;
  const versions = new HostVersions(events, (mod) => slots.get(mod)?.version.hash);
  return { resolved, metrics, events, gate, backend, folders, typeCheck, swaps, registry: slots, versions };
}

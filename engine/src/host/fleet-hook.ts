import { FleetAgent, type FleetResult, type FleetSettings } from "../fleet/fleet-agent.js";
import type { FaultEvent } from "../model/mod-events.js";
import type { SwapReport } from "../model/swap-report.js";

/** What the fleet hook needs from ModHost (its public side plus the package installer). */
export interface FleetHookHost {
  mods(): readonly { readonly name: string; readonly version: string; readonly hash: string }[];
  on(event: "fault", listener: (fault: FaultEvent) => void): unknown;
  installVersion(mod: string, pkg: string, version: string): Promise<SwapReport>;
  log(level: "info" | "warn" | "error", message: string, mod: string): void;
}

/** The host's handle on its fleet agent: results to count, and close(). */
export interface FleetHook {
  record(results: readonly FleetResult[]): void;
  close(): Promise<void>;
}

/**
 * Joins the fleet (options.fleet): starts the agent in the background, so a host whose Redis is
 * down still starts and serves what its stateDir and modsDir hold (the agent says so and retries).
 */
export function startFleetHook(settings: FleetSettings | undefined, host: FleetHookHost): FleetHook | undefined {
  if (settings === undefined) return undefined;
  const agent = new FleetAgent(settings, {
    live: (mod) => {
      const info = host.mods().find((m) => m.name === mod);
      return info === undefined || info.hash === "" ? undefined : info.version;
    },
    install: async (mod, pkg, version) => {
      const report = await host.installVersion(mod, pkg, version);
      return report.ok ? { ok: true } : { ok: false, error: report.error ?? { code: "E_INTERNAL", message: `the swap to ${version} was refused` } };
    },
    log: (level, message, mod) => host.log(level, message, mod ?? "<fleet>"),
  });
  host.on("fault", (fault) => agent.fault(fault.mod));
  agent.start();
  return { record: (results) => agent.record(results), close: () => agent.close() };
}

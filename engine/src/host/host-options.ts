import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import { DEFAULT_PROBATION, type ProbationPolicy } from "../swap/probation.js";
import { parseRegistryOptions, type RegistryOptions, type ResolvedRegistryOptions } from "../registry/registry-options.js";
import type { TrustedKeys } from "../registry/trusted-keys.js";
import type { FleetSettings } from "../fleet/fleet-agent.js";
import { parseFleetOptions, type FleetOptions } from "../fleet/fleet-options.js";
import type { DiskCompileCache } from "../compile/disk-cache.js";
import type { CapabilityLimits } from "../model/capability-limits.js";

/** A function the game offers to mods under a permission name. Arguments arrive as plain data. */
export type CapabilityFunction = (...args: never[]) => unknown;

/** Caps the operator puts on every mod; a manifest may ask for less, never more. */
export interface HostLimits {
  /** Heap limit of each mod's isolate, in MB (default cap 128). */
  readonly memoryMb?: number;
  /** Time limit of each call into a mod, in ms (default cap 1000). */
  readonly callTimeoutMs?: number;
  /**
   * Time a game capability may take per call, in ms (default 100). A slower answer fails the call
   * with E_CAPABILITY_FAILED (the game's fault, never the mod's); up to this much of each call's
   * time counts against the calling mod's own time limit.
   */
  readonly capabilityTimeoutMs?: number;
  /** Capability calls one event may make (default 1000); the next fails with E_CAPABILITY_LIMIT. */
  readonly capabilityCallsPerEvent?: number;
  /** Largest answer of one capability call, in characters of JSON (default 1 MiB); bigger is E_CAPABILITY_FAILED. */
  readonly capabilityAnswerBytes?: number;
  /** Answer characters one event may collect from capabilities (default 4 MiB); then E_CAPABILITY_LIMIT. */
  readonly capabilityBytesPerEvent?: number;
}

/** Options of ModHost.create(). Unknown keys are refused. */
export interface ModHostOptions {
  /** Folder whose sub-folders holding a mod.json are mods. */
  readonly modsDir: string;
  /** Where checkpoints and the journal live; omitted keeps state in memory only. */
  readonly stateDir?: string;
  /**
   * What a returned emit result promises (with a stateDir): "fsync", its event is on disk (synced
   * before the result returns); "batch" (default), the same, with syncs shared across mods within
   * a 2 ms window (group commit); "none", written to the OS before the result returns but not
   * synced: survives a crash of this process, not of the machine.
   */
  readonly durability?: "fsync" | "batch" | "none";
  /** Take a checkpoint when a mod's journal is older than this (ms; default 30000). */
  readonly checkpointIntervalMs?: number;
  /** Functions the game offers, by permission name. */
  readonly capabilities?: Readonly<Record<string, CapabilityFunction>>;
  /**
   * The permissions the operator grants each mod, by mod name. Each must be offered in
   * `capabilities`: a grant of anything else is refused by create() (E_OPTIONS_INVALID, field
   * `grants.<mod>[i]`, naming the offered permissions).
   */
  readonly grants?: Readonly<Record<string, readonly string[]>>;
  /** The operator's caps on each mod's limits. */
  readonly limits?: HostLimits;
  /** Reload a mod when its files change. */
  readonly watch?: boolean;
  /** "process" (default): isolates live in a supervised child process. "inline": in this process. */
  readonly isolation?: "process" | "inline";
  /**
   * Sandbox processes that share the mods (process isolation only): each mod runs in one of them,
   * so that mods use more than one core, and a crash restores only the mods of the process that
   * died. Default: one per core beyond the first (the game's own thread keeps one), at least 1.
   */
  readonly sandboxProcesses?: number;
  /**
   * Start sandbox processes with V8's `--predictable` (process isolation only; default false).
   * With many mods, V8 returns each idle-looking isolate's young generation to the system after
   * every scavenge and faults it back in: where page faults are dear (some VMs: 12 us each) that
   * is most of the sandbox's CPU, and this keeps them. Its price: garbage collection runs on the
   * mod's thread and counts against its time limit. See docs/benchmarks.md, finding 10.
   */
  readonly sandboxPredictableGc?: boolean;
  /** Largest result, capability argument list or log line, in characters (default 1 MiB). */
  readonly maxBytes?: number;
  /** Take a checkpoint of a mod's state after this many journaled events (default 1000). */
  readonly checkpointEvery?: number;
  /** Quarantine a mod after this many crashes or limit hits in a row (default 3). */
  readonly quarantineAfter?: number;
  /** Log lines a mod may write per second before lines are dropped (default 200). */
  readonly logRatePerSecond?: number;
  /**
   * Characters of log text a mod may write per second (default 1 MiB). Lines over either rate are
   * dropped inside the sandbox, before they cross, and counted in a "N log lines dropped" line.
   */
  readonly logBytesPerSecond?: number;
  /** Type errors in a new version: "block" refuses it (default), "warn" logs them, "off" skips the check. */
  readonly typecheck?: "block" | "warn" | "off";
  /**
   * Seed of the mods' random generators (Math.random): each mod's first seed derives from it and
   * the mod's name, so a run (a test) is reproducible. Default: random. A mod's generator state is
   * kept in its checkpoints, so a restart continues the sequence rather than repeating it.
   */
  readonly randomSeed?: number;
  /** Extra .d.ts files every mod is type-checked with (the game's ModEvents/ModCapabilities). */
  readonly modTypes?: readonly string[];
  /**
   * Wall time one type-check of a new version may take (ms, default 10000). Type-checking runs in
   * a child process; past the budget the child is stopped and the reload refused (E_TYPECHECK_BUDGET).
   * The first check in a fresh child (before its code is warm) gets five times the budget.
   */
  readonly typecheckBudgetMs?: number;
  /** Heap of the type-check child process (MB, default 512); running out refuses the reload (E_TYPECHECK_BUDGET). */
  readonly typecheckMemoryMb?: number;
  /** With `watch`: quiet time after the last change of a burst of saves before reloading (ms, default 10). */
  readonly watchDebounceMs?: number;
  /** Folder for the on-disk compile cache: a cold start with unchanged mods skips TypeScript. */
  readonly cacheDir?: string;
  /** Automatic rollback of a new version that misbehaves (false turns it off). */
  readonly probation?: boolean | { readonly durationMs?: number; readonly maxEvents?: number; readonly maxErrorRate?: number; readonly minCalls?: number };
  /** Signed packages: the trusted keys, and packages to follow on an npm registry (docs/distribution.md). */
  readonly registry?: RegistryOptions;
  /** Refuse code that is not a verified signed package, from every route (E_UNSIGNED). Needs registry.trustedKeys. */
  readonly requireSigned?: boolean;
  /** Join a fleet: follow releases on Redis and report health (docs/fleet.md). Needs registry.url. */
  readonly fleet?: FleetOptions;
  /**
   * State recovery at start-up. `acceptLoss`: mods whose saved state is damaged or incomplete
   * continue from the last good point instead of faulting with E_STATE_CORRUPT (the damaged files
   * are kept in the mod's `damaged/` folder). The same as calling `host.acceptStateLoss(mod)`.
   */
  readonly recovery?: { readonly acceptLoss?: readonly string[] };
}

/** Options after validation and defaults. */
export interface ResolvedOptions {
  readonly modsDir: string;
  readonly stateDir: string | undefined;
  readonly durability: "fsync" | "batch" | "none";
  readonly checkpointIntervalMs: number;
  readonly capabilities: ReadonlyMap<string, CapabilityFunction>;
  readonly grants: ReadonlyMap<string, readonly string[]>;
  readonly caps: { readonly memoryMb: number; readonly callTimeoutMs: number };
  readonly capabilityLimits: CapabilityLimits;
  readonly logBytesPerSecond: number;
  readonly defaults: { readonly memoryMb: number; readonly callTimeoutMs: number };
  readonly watch: boolean;
  readonly isolation: "process" | "inline";
  readonly sandboxProcesses: number;
  readonly sandboxPredictableGc: boolean;
  readonly maxBytes: number;
  readonly checkpointEvery: number;
  readonly quarantineAfter: number;
  readonly logRatePerSecond: number;
  readonly typecheck: "block" | "warn" | "off";
  readonly modTypes: readonly string[];
  readonly randomSeed: number | undefined;
  readonly typecheckBudgetMs: number;
  readonly typecheckMemoryMb: number;
  readonly probation: ProbationPolicy | undefined;
  readonly cacheDir: string | undefined;
  readonly watchDebounceMs: number;
  /** Mods whose damaged saved state the operator accepted to lose at start-up. */
  readonly acceptLoss: ReadonlySet<string>;
  /** The opened compile cache (set by ModHost.create when cacheDir is given). */
  readonly diskCache?: DiskCompileCache;
  /**
   * Where passed type-checks are remembered when there is no cacheDir: the folder named by the
   * MODHOST_TYPECHECK_CACHE environment variable (see host-setup.ts), if set.
   */
  readonly verdictCache?: DiskCompileCache;
  readonly registry: ResolvedRegistryOptions | undefined;
  readonly requireSigned: boolean;
  /** The trusted keys (read by ModHost.create when registry is given). */
  readonly trust?: TrustedKeys;
  readonly fleet: FleetSettings | undefined;
}

/** More sandbox processes than this is a typo, not a machine. */
const MAX_SANDBOX_PROCESSES = 64;

/**
 * One sandbox process per core beyond the first: the game's thread (which also frames the
 * requests and journals the results) keeps a core, and more processes than cores only take turns.
 */
export function defaultSandboxProcesses(cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(MAX_SANDBOX_PROCESSES, cores - 1));
}

const KEYS = new Set([
  "modsDir",
  "stateDir",
  "durability",
  "checkpointIntervalMs",
  "capabilities",
  "grants",
  "randomSeed",
  "limits",
  "watch",
  "isolation",
  "sandboxProcesses",
  "sandboxPredictableGc",
  "maxBytes",
  "checkpointEvery",
  "quarantineAfter",
  "logRatePerSecond",
  "logBytesPerSecond",
  "typecheck",
  "modTypes",
  "typecheckBudgetMs",
  "typecheckMemoryMb",
  "probation",
  "cacheDir",
  "watchDebounceMs",
  "registry",
  "requireSigned",
  "recovery",
  "fleet",
]);

/** Validates ModHost.create()'s options, given as `unknown` because JavaScript callers exist. */
export function resolveOptions(input: unknown): ResolvedOptions {
  const fail = (field: string, message: string): never => {
    throw new ModhostError("E_OPTIONS_INVALID", `options.${field}: ${message}`, { field });
  };
  if (typeof input !== "object" || input === null) throw new ModhostError("E_OPTIONS_INVALID", "ModHost.create() needs an options object");
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KEYS.has(key)) fail(key, `unknown option (allowed: ${[...KEYS].join(", ")})`);

  if (typeof o.modsDir !== "string" || o.modsDir === "") fail("modsDir", "must be the path of a folder");
  if (o.stateDir !== undefined && (typeof o.stateDir !== "string" || o.stateDir === "")) fail("stateDir", "must be the path of a folder");

  const capabilities = new Map<string, CapabilityFunction>();
  if (o.capabilities !== undefined) {
    if (typeof o.capabilities !== "object" || o.capabilities === null) fail("capabilities", "must be an object of functions by permission name");
    for (const [name, fn] of Object.entries(o.capabilities as Record<string, unknown>)) {
      if (typeof fn !== "function") fail(`capabilities.${name}`, "must be a function");
      capabilities.set(name, fn as CapabilityFunction);
    }
  }

  const grants = new Map<string, readonly string[]>();
  if (o.grants !== undefined) {
    if (typeof o.grants !== "object" || o.grants === null) fail("grants", "must be an object: { [modName]: permission[] }");
    for (const [mod, list] of Object.entries(o.grants as Record<string, unknown>)) {
      if (!Array.isArray(list) || list.some((p) => typeof p !== "string")) fail(`grants.${mod}`, "must be an array of permission names");
      // A grant of a permission the game does not offer is a typo or a missing capability: refused
      // here, where the operator reads it, rather than as a mod fault inside create().
      (list as string[]).forEach((permission, i) => {
        if (!capabilities.has(permission)) {
          const offered = [...capabilities.keys()];
          fail(`grants.${mod}[${i}]`, `grants "${permission}", which options.capabilities does not offer (offered: ${offered.join(", ") || "none"})${nearest(permission, offered)}`);
        }
      });
      grants.set(mod, [...(list as string[])]);
    }
  }

  if (o.randomSeed !== undefined && (typeof o.randomSeed !== "number" || !Number.isSafeInteger(o.randomSeed))) fail("randomSeed", "must be an integer");

  const caps = { memoryMb: 128, callTimeoutMs: 1000 };
  const capability = { capabilityTimeoutMs: 100, capabilityCallsPerEvent: 1000, capabilityAnswerBytes: 1024 * 1024, capabilityBytesPerEvent: 4 * 1024 * 1024 };
  if (o.limits !== undefined) {
    const allowed = ["memoryMb", "callTimeoutMs", ...Object.keys(capability)];
    if (typeof o.limits !== "object" || o.limits === null) fail("limits", `must be an object { ${allowed.map((k) => `${k}?`).join(", ")} }`);
    for (const [key, value] of Object.entries(o.limits as Record<string, unknown>)) {
      if (!allowed.includes(key)) fail(`limits.${key}`, `unknown limit (allowed: ${allowed.join(", ")})`);
      const min = key === "memoryMb" ? 8 : 1;
      if (typeof value !== "number" || !Number.isInteger(value) || value < min) fail(`limits.${key}`, `must be a whole number of at least ${min}`);
      if (key in caps) caps[key as keyof typeof caps] = value as number;
      else capability[key as keyof typeof capability] = value as number;
    }
  }

  if (o.watch !== undefined && typeof o.watch !== "boolean") fail("watch", "must be true or false");
  if (o.isolation !== undefined && o.isolation !== "process" && o.isolation !== "inline") fail("isolation", `must be "process" or "inline"`);
  if (o.sandboxProcesses !== undefined) {
    if (typeof o.sandboxProcesses !== "number" || !Number.isInteger(o.sandboxProcesses) || o.sandboxProcesses < 1 || o.sandboxProcesses > MAX_SANDBOX_PROCESSES) fail("sandboxProcesses", `must be a whole number from 1 to ${MAX_SANDBOX_PROCESSES}`);
    if (o.isolation === "inline") fail("sandboxProcesses", `applies to isolation: "process" only (inline runs every isolate in this process)`);
  }
  if (o.sandboxPredictableGc !== undefined) {
    if (typeof o.sandboxPredictableGc !== "boolean") fail("sandboxPredictableGc", "must be true or false");
    if (o.isolation === "inline") fail("sandboxPredictableGc", `applies to isolation: "process" only (inline isolates run under this process's V8 flags)`);
  }
  const positive = (key: string, fallback: number): number => {
    const value = o[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) fail(key, "must be a whole number of at least 1");
    return value as number;
  };

  const atLeast = (key: string, min: number, fallback: number): number => {
    const value = o[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) fail(key, `must be a whole number of at least ${min}`);
    return value as number;
  };

  if (o.cacheDir !== undefined && (typeof o.cacheDir !== "string" || o.cacheDir === "")) fail("cacheDir", "must be the path of a folder");
  if (o.durability !== undefined && o.durability !== "fsync" && o.durability !== "batch" && o.durability !== "none") fail("durability", `must be "fsync", "batch" or "none"`);
  if (o.typecheck !== undefined && o.typecheck !== "block" && o.typecheck !== "warn" && o.typecheck !== "off") fail("typecheck", `must be "block", "warn" or "off"`);
  const modTypes: string[] = [];
  if (o.modTypes !== undefined) {
    if (!Array.isArray(o.modTypes) || o.modTypes.some((p) => typeof p !== "string" || !p.endsWith(".d.ts"))) fail("modTypes", "must be an array of paths of .d.ts files");
    for (const p of o.modTypes as string[]) modTypes.push(resolve(p));
  }
  let probation: ProbationPolicy | undefined = DEFAULT_PROBATION;
  if (o.probation === false) probation = undefined;
  else if (o.probation !== undefined && o.probation !== true) {
    if (typeof o.probation !== "object" || o.probation === null) fail("probation", "must be true, false or an object");
    const p = { ...DEFAULT_PROBATION } as Record<string, number>;
    for (const [key, value] of Object.entries(o.probation as Record<string, unknown>)) {
      if (!["durationMs", "maxEvents", "maxErrorRate", "minCalls"].includes(key)) fail(`probation.${key}`, "unknown setting (allowed: durationMs, maxEvents, maxErrorRate, minCalls)");
      if (typeof value !== "number" || !(value >= 0)) fail(`probation.${key}`, "must be a number of at least 0");
      p[key] = value as number;
    }
    probation = p as unknown as ProbationPolicy;
  }

  const registry = o.registry === undefined ? undefined : parseRegistryOptions(o.registry);
  if (o.requireSigned !== undefined && typeof o.requireSigned !== "boolean") fail("requireSigned", "must be true or false");
  if (o.requireSigned === true && registry === undefined) fail("requireSigned", "needs registry.trustedKeys: the keys whose signatures are accepted");
  const fleet = o.fleet === undefined ? undefined : parseFleetOptions(o.fleet);
  if (fleet !== undefined && registry?.url === undefined) fail("fleet", "needs registry.url and registry.trustedKeys: a release names a package version that this server pulls and verifies");
  const acceptLoss = new Set<string>();
  if (o.recovery !== undefined) {
    if (typeof o.recovery !== "object" || o.recovery === null) fail("recovery", "must be an object { acceptLoss?: modName[] }");
    for (const [key, value] of Object.entries(o.recovery as Record<string, unknown>)) {
      if (key !== "acceptLoss") fail(`recovery.${key}`, "unknown setting (allowed: acceptLoss)");
      if (!Array.isArray(value) || value.some((m) => typeof m !== "string")) fail("recovery.acceptLoss", "must be an array of mod names");
      for (const mod of value as string[]) acceptLoss.add(mod);
    }
  }

  return {
    acceptLoss,
    modsDir: resolve(o.modsDir as string),
    stateDir: o.stateDir === undefined ? undefined : resolve(o.stateDir as string),
    durability: (o.durability as "fsync" | "batch" | "none" | undefined) ?? "batch",
    checkpointIntervalMs: positive("checkpointIntervalMs", 30_000),
    capabilities,
    grants,
    randomSeed: o.randomSeed as number | undefined,
    caps,
    defaults: { memoryMb: Math.min(32, caps.memoryMb), callTimeoutMs: Math.min(50, caps.callTimeoutMs) },
    watch: (o.watch as boolean | undefined) ?? false,
    isolation: (o.isolation as "process" | "inline" | undefined) ?? "process",
    sandboxProcesses: (o.sandboxProcesses as number | undefined) ?? defaultSandboxProcesses(),
    sandboxPredictableGc: (o.sandboxPredictableGc as boolean | undefined) ?? false,
    maxBytes: positive("maxBytes", 1024 * 1024),
    checkpointEvery: positive("checkpointEvery", 1000),
    quarantineAfter: positive("quarantineAfter", 3),
    logRatePerSecond: positive("logRatePerSecond", 200),
    logBytesPerSecond: positive("logBytesPerSecond", 1024 * 1024),
    capabilityLimits: {
      timeoutMs: capability.capabilityTimeoutMs,
      callsPerEvent: capability.capabilityCallsPerEvent,
      answerBytes: capability.capabilityAnswerBytes,
      bytesPerEvent: capability.capabilityBytesPerEvent,
    },
    watchDebounceMs: positive("watchDebounceMs", 10),
    cacheDir: typeof o.cacheDir === "string" && o.cacheDir !== "" ? resolve(o.cacheDir) : undefined,
    typecheck: (o.typecheck as "block" | "warn" | "off" | undefined) ?? "block",
    modTypes,
    typecheckBudgetMs: positive("typecheckBudgetMs", 10_000),
    typecheckMemoryMb: atLeast("typecheckMemoryMb", 64, 512),
    probation,
    registry,
    requireSigned: o.requireSigned === true,
    fleet,
  };
}

/** `; did you mean "x"?` for the offered name closest to a misspelled one (at most 2 edits away), else "". */
function nearest(name: string, offered: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of offered) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? "" : `; did you mean "${best}"?`;
}

/** Levenshtein distance (names here are short, so the quadratic table is fine). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length] ?? 0;
}

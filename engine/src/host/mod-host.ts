import { EventEmitter } from "node:events";
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ModhostError, messageOf, type ErrorInfo } from "../errors/modhost-error.js";
import { InlineBackend } from "../sandbox/inline-backend.js";
import { loadIsolatedVm } from "../sandbox/ivm.js";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import type { SandboxBridge } from "../model/wire.js";
import { ProcessBackend } from "../supervisor/process-backend.js";
import { resolveOptions, type ModHostOptions, type ResolvedOptions } from "./host-options.js";
import { LogLimiter } from "./log-limiter.js";
import { HostMetrics, type MetricsSnapshot } from "./host-metrics.js";
import { findModFolders, prepareMod, prepareSources } from "./mod-loader.js";
import type { ModVersion, PrepareResult } from "../compile/mod-version.js";
import { openStateDir } from "../persist/state-dir.js";
import { DiskCompileCache } from "../compile/disk-cache.js";
import { VersionStore } from "../persist/version-store.js";
import { GroupCommit } from "../persist/group-commit.js";
import { ModStore } from "../persist/mod-store.js";
import { VersionPruner } from "../persist/version-pruner.js";
import { describeRecovery, type RecoveryReport } from "../persist/recovery-report.js";
import { buildReport } from "../model/swap-report.js";
import { ModsWatcher, type ModFolderChange } from "../watch/mods-watcher.js";
import { performance } from "node:perf_hooks";
import { ModSlot, type SlotPersistence } from "./mod-slot.js";
import type { EmitResult, FaultEvent, ModStatus } from "../model/mod-events.js";
import type { SwapReport } from "../model/swap-report.js";
import { SwapCoordinator } from "../swap/swap-coordinator.js";
import { VersionTypeCheck } from "./version-type-check.js";
import { CapabilityGate } from "./capability-gate.js";
import { throwCollected } from "../util/collected-errors.js";
import { HostPackages } from "./host-packages.js";
import type { ModOrigin } from "../registry/mod-origin.js";
import { loadRegistryTrust } from "../registry/registry-options.js";
import { startFleetHook, type FleetHook } from "./fleet-hook.js";

/** A mod as `mods()` lists it. */
export interface ModInfo {
  readonly name: string;
  readonly version: string;
  readonly status: ModStatus;
  /** sha256 of the compiled sources: identifies exactly what runs. Empty if it never loaded. */
  readonly hash: string;
  /** Why the mod is faulted or quarantined. */
  readonly error?: ErrorInfo;
  /** Where the live version came from: its folder, a deploy, or a signed package (name, version, key id). */
  readonly origin?: ModOrigin;
  /** What recovery found in the stateDir when the mod was brought up (with a stateDir only). */
  readonly recovery?: RecoveryReport;
}

/**
 * Recovery news: what recovery found when a mod came up from the stateDir ("startup", with the
 * report), journal storage failing for a mod ("storage-failed") or working again ("storage-restored").
 */
export interface RecoveryEvent {
  readonly mod: string;
  readonly kind: "startup" | "storage-failed" | "storage-restored";
  readonly message: string;
  readonly report?: RecoveryReport;
}

/** A line a mod logged (console.* or ctx.log). */
export interface LogEvent {
  readonly mod: string;
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
}

/** The events a ModHost emits, and their listeners' arguments. */
export interface ModHostEvents {
  swap: [report: SwapReport];
  fault: [fault: FaultEvent];
  log: [line: LogEvent];
  recovery: [event: RecoveryEvent];
}

/**
 * The engine's public facade: loads every mod under `modsDir` into its own sandbox, dispatches
 * events to the mods that handle them, and reports results, faults and logs. Create it with
 * `ModHost.create()`; release it with `close()`.
 */
export class ModHost {
  readonly #options: ResolvedOptions;
  readonly #backend: SandboxBackend;
  readonly #slots = new Map<string, ModSlot>();
  readonly #failed = new Map<string, ModInfo>();
  readonly #events = new EventEmitter();
  readonly #logLimiter: LogLimiter;
  readonly #typeCheck: VersionTypeCheck;
  readonly #metrics = new HostMetrics();
  readonly #swaps: SwapCoordinator;
  /** Answers the mods' capability calls (grants, caps, the game's failures and slowness). */
  readonly #gate: CapabilityGate;
  #seq = 0;
  #closed: Promise<void> | undefined;
  #watcher: ModsWatcher | undefined;
  /** Signed packages: origins, tarball installs and the registry follower. */
  #packages: HostPackages | undefined;
  #fleet: FleetHook | undefined;
  /**
   * Loads of new (or failed) folders, by folder: the one running, and the one queued behind it that
   * every later request shares (it reads the folder afresh when it starts, as reloads do).
   */
  readonly #loading = new Map<string, { running?: Promise<SwapReport>; queued?: Promise<SwapReport> }>();
  /** The stateDir's shared parts, when there is one. */
  #state: { modsDir: string; versions: VersionStore; group: GroupCommit; pruner: VersionPruner } | undefined;
  readonly #persistence = new Map<string, SlotPersistence>();
  /** The hash of each mod's folder version at load, to tell when the stateDir's live version differs. */
  readonly #folderHashes = new Map<string, string>();
  /** What recovery found for each mod, by name. */
  readonly #recoveries = new Map<string, RecoveryReport>();
  /**
   * Events emitted during create(), replayed to listeners attached before the next macrotask (i.e.
   * right after `await ModHost.create()`), so that what recovery found is never emitted into the void.
   */
  #startupEvents: { name: keyof ModHostEvents; args: unknown[] }[] | undefined = [];

  private constructor(options: ResolvedOptions, backend: SandboxBackend, logLimiter: LogLimiter) {
    this.#options = options;
    this.#backend = backend;
    this.#logLimiter = logLimiter;
    this.#typeCheck = new VersionTypeCheck({ modTypes: options.modTypes, budgetMs: options.typecheckBudgetMs, memoryMb: options.typecheckMemoryMb });
    this.#gate = new CapabilityGate({
      capabilities: options.capabilities,
      grants: options.grants,
      limits: options.capabilityLimits,
      slotOf: (mod) => this.#slots.get(mod),
      report: { log: (mod, level, message) => this.#emitLog({ mod, level, message }) },
    });
    this.#swaps = new SwapCoordinator({ typecheck: options.typecheck, prepare: (dir) => prepareMod(dir, options) }, (version) => this.#typeCheck.check(version), (report) => this.#emitSwap(report), (mod, message) => this.#emitLog({ mod, level: "warn", message }));
  }

  /**
   * Validates the options, starts the sandbox (a child process unless `isolation: "inline"`) and
   * loads every mod. A mod that fails to load is listed by `mods()` as "faulted" with its error;
   * the others load anyway. Throws ModhostError only for bad options or an unusable modsDir.
   */
  static async create(options: ModHostOptions): Promise<ModHost> {
    const checked = resolveOptions(options);
    // The trusted keys are read first: requireSigned checks every folder against them.
    const parsed: ResolvedOptions = checked.registry === undefined ? checked : { ...checked, trust: await loadRegistryTrust(checked.registry) };
    const resolved: ResolvedOptions =
      parsed.cacheDir === undefined
        ? parsed
        : {
            ...parsed,
            diskCache: await DiskCompileCache.open(parsed.cacheDir).catch((err: unknown) => {
              throw new ModhostError("E_OPTIONS_INVALID", `options.cacheDir: ${(err as Error).message}`, { field: "cacheDir" }, { cause: err });
            }),
          };
    const info = await stat(resolved.modsDir).catch((err: unknown) => {
      throw new ModhostError("E_MODS_DIR", `modsDir ${resolved.modsDir} cannot be read: ${(err as Error).message}`, { field: "modsDir" });
    });
    if (!info.isDirectory()) throw new ModhostError("E_MODS_DIR", `modsDir ${resolved.modsDir} is not a folder`, { field: "modsDir" });
    if (resolved.isolation === "inline") checkInlineAllowed();

    // The bridge needs the host, and the host needs the backend: bind late through this holder.
    const holder: { host?: ModHost } = {};
    const bridge: SandboxBridge = {
      log: (mod, level, message) => {
        if (holder.host) holder.host.#onLog(mod, level, message);
      },
      capability: (call) => (holder.host ? holder.host.#gate.answer(call) : { reply: JSON.stringify({ ok: false, code: "E_HOST_CLOSED", message: "the host is not ready" }), late: false }),
    };
    // The sandbox process starts while the mods compile (its spawn costs ~140 ms on its own).
    const backendReady: Promise<SandboxBackend> = resolved.isolation === "inline" ? Promise.resolve(new InlineBackend(bridge)) : ProcessBackend.create(bridge, { graceMs: 1000 });
    const folders = findModFolders(resolved.modsDir)
      .catch((err: unknown) => {
        throw new ModhostError("E_IO", `modsDir ${resolved.modsDir} cannot be listed: ${messageOf(err)}`, { field: "modsDir" }, { cause: err });
      })
      .then((dirs) => Promise.all(dirs.map(async (dir) => ({ dir, result: await prepareMod(dir, resolved) }))));
    // It may settle while the sandbox spawns: observe it now so that a rejection is never
    // unhandled (it is awaited, and rethrown to the caller, below).
    folders.catch(noop);
    const backend = await backendReady.catch(async (err: unknown) => {
      await folders.catch(() => undefined);
      throw err;
    });
    const logLimiter = new LogLimiter(resolved.logRatePerSecond);
    const host = new ModHost(resolved, backend, logLimiter);
    holder.host = host;
    backend.onCrash((crash) => {
      host.#metrics.sandboxRestart();
      host.#emitLog({ mod: crash.culprit?.split(":")[1]?.split("#")[0] ?? "<sandbox>", level: "error", message: `sandbox process died (exit code ${crash.exitCode}, signal ${crash.signal}) and was restarted${crash.stderrTail ? `: ${crash.stderrTail.trim().slice(-500)}` : ""}` });
    });
    try {
      if (resolved.stateDir !== undefined) {
        const { modsDir } = await openStateDir(resolved.stateDir);
        const versions = await VersionStore.open(resolved.stateDir);
        const pruner = new VersionPruner(
          versions,
          modsDir,
          (hash) => [...host.#slots.values()].some((slot) => slot.referencedVersions().has(hash)),
          (err) => host.#emitLog({ mod: "<stateDir>", level: "warn", message: `pruning unused versions failed: ${err.message}` }),
        );
        host.#state = { modsDir, versions, group: new GroupCommit((ms) => host.#metrics.journalSync(ms)), pruner };
      }
      await host.#loadAll(await folders);
      host.#state?.pruner.request();
      if (resolved.watch) {
        host.#watcher = await ModsWatcher.create(
          resolved.modsDir,
          { debounceMs: resolved.watchDebounceMs },
          (change) => {
            host.#onFolderChange(change).catch((err: unknown) => host.#emitLog({ mod: "<watch>", level: "error", message: `reacting to ${change.kind} ${change.dir}: ${(err as Error).message}` }));
          },
          (err) => host.#emitLog({ mod: "<watch>", level: "error", message: err.message }),
        );
      }
      host.#packages = await HostPackages.open(resolved, {
        load: (dir) => host.load(dir),
        live: (mod) => {
          const slot = host.#slots.get(mod);
          return slot === undefined ? undefined : { version: slot.version.manifest.version, hash: slot.version.hash };
        },
        log: (level, message, mod) => host.#emitLog({ mod, level, message }),
      });
      await host.#packages.start();
      const packages = host.#packages;
      host.#fleet = startFleetHook(resolved.fleet, { mods: () => host.mods(), on: (e, l) => host.on(e, l), installVersion: (mod, pkg, version) => packages.installVersion(mod, pkg, version), log: (level, message, mod) => host.#emitLog({ mod, level, message }) });
    } catch (err) {
      await host.close();
      throw err;
    }
    setImmediate(() => (host.#startupEvents = undefined));
    return host;
  }

  /**
   * Sends an event to every mod that handles it. Each mod runs its events in the order they were
   * emitted; the promise resolves with one result per mod once all have answered. A mod's failure
   * is a result with `ok: false`, never a rejection.
   */
  emit(event: string, payload?: unknown): Promise<EmitResult[]> {
    if (this.#closed) return Promise.reject(new ModhostError("E_HOST_CLOSED", "emit() after close()"));
    if (typeof event !== "string" || event.length === 0 || event.length > 256) {
      return Promise.reject(new ModhostError("E_EVENT_INVALID", "the event name must be a non-empty string of at most 256 characters"));
    }
    let payloadJson: string | undefined;
    try {
      payloadJson = JSON.stringify(payload === undefined ? null : payload);
    } catch (err) {
      return Promise.reject(new ModhostError("E_EVENT_INVALID", `the payload of "${event}" is not JSON data: ${(err as Error).message}`, {}, { cause: err }));
    }
    if (payloadJson === undefined) return Promise.reject(new ModhostError("E_EVENT_INVALID", `the payload of "${event}" is not JSON data`));
    const wire = { seq: ++this.#seq, name: event, payload: payloadJson, now: Date.now() };
    const pending: Promise<EmitResult>[] = [];
    for (const slot of this.#slots.values()) if (slot.handles(event)) pending.push(slot.enqueue(wire));
    return this.#fleet === undefined ? Promise.all(pending) : Promise.all(pending).then((results) => (this.#fleet?.record(results), results));
  }

  /**
   * The pid of the sandbox process (undefined with inline isolation). For operators' diagnostics
   * and for crash tests; killing it is survivable by design.
   */
  get sandboxPid(): number | undefined {
    return this.#backend instanceof ProcessBackend ? this.#backend.pid : undefined;
  }

  /** Counters for operators: events, errors by code, latency histograms, swaps, faults, journal. */
  metrics(): MetricsSnapshot {
    const registry = this.#packages?.metrics();
    return { ...this.#metrics.snapshot(), capabilities: this.#gate.metrics(), ...(registry !== undefined ? { registry } : {}) };
  }

  /** Heap used and limit of each running mod's isolate, in bytes. */
  async heaps(): Promise<Record<string, { usedBytes: number; limitBytes: number }>> {
    const out: Record<string, { usedBytes: number; limitBytes: number }> = {};
    await Promise.all(
      [...this.#slots.values()].map(async (slot) => {
        const heap = await slot.heap();
        if (heap !== undefined) out[slot.name] = heap;
      }),
    );
    return out;
  }

  /** Every mod found, with its version, status and hash. */
  mods(): ModInfo[] {
    const out: ModInfo[] = [];
    for (const slot of this.#slots.values()) {
      const error = slot.lastError;
      out.push({
        name: slot.name,
        version: slot.version.manifest.version,
        status: slot.status,
        hash: slot.version.hash,
        origin: this.#packages?.origin(slot.name, slot.version.manifest.version, slot.version.hash, slot.version.signed) ?? { source: "folder" },
        ...(error !== undefined && slot.status !== "running" ? { error } : {}),
        ...(this.#recoveries.has(slot.name) ? { recovery: this.#recoveries.get(slot.name) as RecoveryReport } : {}),
      });
    }
    for (const failed of this.#failed.values()) out.push(failed);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Reloads a mod from its folder: compile, type-check, safety rules, semantic diff against the
   * live version, then the swap transaction. Resolves with the report (a refusal is a report with
   * `ok: false`, never a rejection). Concurrent calls for one mod coalesce.
   */
  async reload(name: string): Promise<SwapReport> {
    this.#checkOpen();
    const slot = this.#slots.get(name);
    if (slot !== undefined) return this.#swaps.reload(slot);
    // A mod that failed to load: try its folder again.
    const failed = [...this.#failed.entries()].find(([, info]) => info.name === name);
    if (failed !== undefined) return this.#loadFolder(failed[0]);
    throw new ModhostError("E_MOD_NOT_FOUND", `no mod named "${name}" is loaded`, { mod: name });
  }

  /**
   * Loads the mod in `dir`, a folder directly inside modsDir that appeared (or was fixed) since
   * create(), for hosts without `watch` (the admin channel's deploy uses it). A folder already
   * loaded is reloaded instead, through the same pipeline as reload(). Resolves with the report;
   * rejects with E_MOD_NOT_FOUND when `dir` is not directly inside modsDir.
   */
  async load(dir: string): Promise<SwapReport> {
    this.#checkOpen();
    const full = resolve(dir);
    if (dirname(full) !== this.#options.modsDir) {
      throw new ModhostError("E_MOD_NOT_FOUND", `${full} is not a folder directly inside modsDir ${this.#options.modsDir}`);
    }
    return this.#loadFolder(full);
  }

  /**
   * Installs a package packed by `modhost pack`: verified against registry.trustedKeys (integrity
   * of the listing, signature, key scope, expiry, revocation), written into the mod's folder as a
   * deploy is, and loaded through the ordinary pipeline. Resolves with the report; rejects with the
   * verifier's error (nothing is written then).
   */
  async installPackage(tarball: Uint8Array): Promise<SwapReport> {
    this.#checkOpen();
    if (this.#packages === undefined) throw new ModhostError("E_HOST_CLOSED", "the host is not ready");
    return this.#packages.installTarball(tarball);
  }

  /** Records that the live version of `mod` arrived by the admin channel's deploy (for `mods()`' origin). */
  async noteDeployed(mod: string): Promise<void> {
    await this.#packages?.noteLive(mod, { source: "deploy" });
  }

  /** Polls every followed package now instead of waiting for pollMs. */
  async pollRegistry(): Promise<void> {
    this.#checkOpen();
    await this.#packages?.pollNow();
  }

  /** Returns a mod to its previous version, carrying its current state (migrated if needed). */
  async rollback(name: string): Promise<SwapReport> {
    this.#checkOpen();
    return this.#swaps.rollback(this.#slot(name));
  }

  /** Applies the patch held for approval (it asked for a new permission or a higher limit). */
  async approve(name: string): Promise<SwapReport> {
    this.#checkOpen();
    return this.#swaps.approve(this.#slot(name));
  }

  /** A copy of a mod's current state (after every event emitted before this call). */
  async state(name: string): Promise<unknown> {
    this.#checkOpen();
    return this.#slot(name).state();
  }

  /**
   * Continues a mod whose saved state was found damaged or incomplete (faulted with
   * E_STATE_CORRUPT) from the last good point: the operator accepts losing what came after it.
   * The files past that point are moved to the mod's `damaged/` folder. Resolves with the mod's
   * error if it still cannot start, undefined once it runs.
   */
  async acceptStateLoss(name: string): Promise<ErrorInfo | undefined> {
    this.#checkOpen();
    const slot = this.#slot(name);
    if (slot.status !== "faulted" || slot.lastError?.code !== "E_STATE_CORRUPT") {
      throw new ModhostError("E_NOTHING_TO_ACCEPT", `mod ${name} is ${slot.status}${slot.lastError ? ` (${slot.lastError.code})` : ""}, not faulted with E_STATE_CORRUPT: there is no loss to accept`, { mod: name });
    }
    return slot.task(() => this.#bringUp(slot, true));
  }

  /**
   * Subscribes to "swap", "fault", "log" or "recovery". A listener attached right after
   * `await ModHost.create()` (before the next macrotask) first receives the events of that kind
   * emitted during create(): what recovery found, and the log lines and faults of bringing mods up.
   */
  on<E extends keyof ModHostEvents>(event: E, listener: (...args: ModHostEvents[E]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    for (const past of this.#startupEvents ?? []) if (past.name === event) (listener as (...args: unknown[]) => void)(...past.args);
    return this;
  }

  /** Unsubscribes a listener. */
  off<E extends keyof ModHostEvents>(event: E, listener: (...args: ModHostEvents[E]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /**
   * Finishes every event already emitted, stops every mod and the sandbox. Idempotent: later
   * calls return the same promise. A step that fails does not stop the others; the promise then
   * rejects with that failure, or with an AggregateError of every one if several failed.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const errors: unknown[] = [];
      await this.#fleet?.close().catch((err: unknown) => errors.push(err));
      await this.#packages?.close().catch((err: unknown) => errors.push(err));
      await this.#watcher?.close().catch((err: unknown) => errors.push(err));
      // Loads of new folders still under way end first, so the slots they register are closed too
      // (their callers get their reports or errors).
      await Promise.all([...this.#loading.values()].flatMap((line) => [line.running, line.queued]).map((load) => load?.then(noop, noop)));
      await Promise.all([...this.#slots.values()].map((slot) => slot.close().catch((err: unknown) => errors.push(err))));
      await this.#backend.close().catch((err: unknown) => errors.push(err));
      await this.#state?.group.drain().catch((err: unknown) => errors.push(err));
      await this.#state?.pruner.close().catch((err: unknown) => errors.push(err));
      for (const persistence of this.#persistence.values()) await persistence.store.close().catch((err: unknown) => errors.push(err));
      await this.#typeCheck.close().catch((err: unknown) => errors.push(err));
      throwCollected(errors, "closing the host");
    })();
    return this.#closed;
  }

  async #loadAll(prepared: readonly { dir: string; result: PrepareResult }[]): Promise<void> {
    // Register in folder order, so that which of two same-named folders wins is deterministic.
    const slots = prepared.map(({ dir, result }) => this.#register(dir, result));
    await Promise.all(slots.map((slot) => (slot === undefined ? undefined : this.#bringUp(slot))));
  }

  /** Starts a slot: from its stateDir if it has state there, with init() otherwise. */
  async #bringUp(slot: ModSlot, acceptLoss = false): Promise<ErrorInfo | undefined> {
    const persistence = this.#persistence.get(slot.name);
    if (persistence === undefined) return slot.start();
    let outcome;
    try {
      outcome = await persistence.store.recover({ acceptLoss: acceptLoss || this.#options.acceptLoss.has(slot.name) });
    } catch (err) {
      // State exists but cannot be read at all (a newer format, an unreadable folder): fault this mod, load the others.
      const info = err instanceof ModhostError ? err.toInfo() : { code: "E_STATE_CORRUPT" as const, message: (err as Error).message };
      return slot.failResume({ ...info, mod: slot.name });
    }
    this.#reportRecovery(slot.name, outcome.report);
    if (outcome.kind === "corrupt") return slot.failResume({ ...outcome.error.toInfo(), mod: slot.name });
    if (outcome.kind === "fresh") return slot.start();
    const recovered = outcome.recovered;
    this.#seq = Math.max(this.#seq, recovered.maxSeq);
    const hashes = new Set<string>([recovered.checkpoint.version, ...(recovered.meta?.history ?? [])]);
    for (const entry of recovered.entries) if (entry.kind !== "event") hashes.add(entry.version);
    const versions = new Map<string, ModVersion>();
    for (const hash of hashes) {
      if (hash === slot.version.hash) {
        versions.set(hash, slot.version);
        continue;
      }
      const stored = await persistence.versions.read(hash).catch((err: unknown) => err as Error);
      if (stored instanceof Error) {
        if (recovered.meta?.history.includes(hash) && hash !== recovered.checkpoint.version) continue; // history is best effort
        return slot.failResume({ code: "E_STATE_CORRUPT", message: stored.message, mod: slot.name });
      }
      const result = await prepareSources(slot.version.dir, stored.manifest, new Map(Object.entries(stored.files)), this.#options);
      if (!result.ok) return slot.failResume({ ...result.error, message: `the stored version ${stored.manifest.version} (${hash.slice(0, 12)}) no longer loads: ${result.error.message}` });
      versions.set(hash, result.version);
    }
    const error = await slot.resume({ recovered, versions });
    if (error === undefined && slot.version.hash !== this.#folderHashes.get(slot.name)) {
      this.#emitLog({ mod: slot.name, level: "info", message: `resumed version ${slot.version.manifest.version} from the stateDir; the folder holds other code: reload to swap it in` });
    }
    return error;
  }

  /** Keeps what recovery found for mods() and says it: a "recovery" event, and log lines for anything unusual. */
  #reportRecovery(mod: string, report: RecoveryReport): void {
    this.#recoveries.set(mod, report);
    for (const warning of report.warnings) this.#emitLog({ mod, level: "warn", message: `state recovery: ${warning}` });
    for (const damage of report.damage) this.#emitLog({ mod, level: "error", message: `state recovery: ${damage}` });
    this.#emitRecovery({ mod, kind: "startup", message: describeRecovery(report), report });
  }

  #emitRecovery(event: RecoveryEvent): void {
    this.#startupEvents?.push({ name: "recovery", args: [event] });
    this.#events.emit("recovery", event);
  }

  /**
   * Loads one mod folder (a new one, or one that failed before), or reloads it if it has become a
   * mod meanwhile. Loads of one folder run one at a time: a request made while one runs shares a
   * single follow-up, which reads the folder afresh, so no save is missed and no folder registers
   * twice. Returns its report.
   */
  #loadFolder(dir: string): Promise<SwapReport> {
    let line = this.#loading.get(dir);
    if (line === undefined) {
      line = {};
      this.#loading.set(dir, line);
    }
    if (line.queued !== undefined) return line.queued;
    const entry = line;
    const previous = entry.running;
    const self: { task?: Promise<SwapReport> } = {};
    const task = (async (): Promise<SwapReport> => {
      // The earlier load's caller gets its error; this one only waits for it to end.
      await (previous === undefined ? undefined : previous.then(noop, noop));
      if (self.task !== undefined) entry.running = self.task;
      delete entry.queued;
      try {
        const slot = [...this.#slots.values()].find((s) => s.version.dir === dir);
        return slot !== undefined ? await this.#swaps.reload(slot) : await this.#loadFolderNow(dir);
      } finally {
        if (entry.running === self.task) {
          delete entry.running;
          if (entry.queued === undefined) this.#loading.delete(dir);
        }
      }
    })();
    self.task = task;
    entry.queued = task;
    return task;
  }

  async #loadFolderNow(dir: string): Promise<SwapReport> {
    const startedAt = performance.now();
    const result = await prepareMod(dir, this.#options);
    const slot = this.#register(dir, result);
    const error = slot === undefined ? this.#failed.get(dir)?.error : await this.#bringUp(slot);
    const loaded = error === undefined && result.ok;
    const report = buildReport({
      ok: error === undefined,
      mod: result.ok ? result.version.manifest.name : result.name,
      kind: error === undefined ? "swap" : "rejected",
      from: "",
      to: loaded ? result.version.manifest.version : "",
      startedAt,
      changes: error === undefined ? [{ kind: "added", path: "mod" }] : [],
      ...(error !== undefined ? { error } : {}),
    });
    this.#emitSwap(report);
    return report;
  }

  #emitSwap(report: SwapReport): void {
    this.#metrics.swap(report);
    this.#startupEvents?.push({ name: "swap", args: [report] });
    this.#events.emit("swap", report);
  }

  /** Turns a prepared folder into a slot, or records why it cannot be one. */
  #register(dir: string, result: PrepareResult): ModSlot | undefined {
    this.#failed.delete(dir);
    if (!result.ok) {
      this.#failed.set(dir, { name: result.name, version: "", status: "faulted", hash: "", error: result.error });
      return undefined;
    }
    const version = result.version;
    const name = version.manifest.name;
    const existing = this.#slots.get(name);
    if (existing !== undefined) {
      this.#failed.set(dir, {
        name,
        version: version.manifest.version,
        status: "faulted",
        hash: version.hash,
        error: { code: "E_MOD_DUPLICATE", message: `mod name "${name}" is already used by ${existing.version.dir}; ${dir} was not loaded`, mod: name, file: "mod.json", field: "name" },
      });
      return undefined;
    }
    this.#folderHashes.set(name, version.hash);
    const persistence = this.#persistFor(name);
    const slot = new ModSlot(version, {
      backend: this.#backend,
      persistence,
      checkpointEvery: this.#options.checkpointEvery,
      checkpointIntervalMs: this.#options.checkpointIntervalMs,
      quarantineAfter: this.#options.quarantineAfter,
      probation: this.#options.probation,
      historySize: 5,
      metrics: this.#metrics,
      fault: (fault) => {
        this.#metrics.fault(fault);
        this.#startupEvents?.push({ name: "fault", args: [fault] });
        this.#events.emit("fault", fault);
      },
      storage: (mod, ok, message) => {
        this.#emitLog({ mod, level: ok ? "info" : "error", message });
        this.#emitRecovery({ mod, kind: ok ? "storage-restored" : "storage-failed", message });
      },
      versionsChanged: () => this.#state?.pruner.request(),
      probationFailed: (failed, reason) => {
        this.#emitLog({ mod: failed.name, level: "warn", message: `rolling back: ${reason}` });
        void this.#swaps.rollback(failed, { code: "E_PROBATION_FAILED", message: reason, mod: failed.name });
      },
    });
    this.#slots.set(name, slot);
    return slot;
  }

  /** Reacts to the watcher: reload a changed mod, load a new one, unload a removed one. */
  async #onFolderChange(change: ModFolderChange): Promise<void> {
    if (this.#closed) return;
    const slot = [...this.#slots.values()].find((s) => s.version.dir === change.dir);
    if (change.kind === "removed") {
      this.#failed.delete(change.dir);
      if (slot === undefined) return;
      this.#slots.delete(slot.name);
      await slot.close();
      this.#emitLog({ mod: slot.name, level: "info", message: `unloaded: ${change.dir} was removed` });
      return;
    }
    if (slot !== undefined) await this.#swaps.reload(slot);
    else await this.#loadFolder(change.dir);
  }

  /** The store of a mod, opened on first use (stores are created lazily per mod name). */
  #persistFor(name: string): SlotPersistence | undefined {
    const state = this.#state;
    if (state === undefined) return undefined;
    let persistence = this.#persistence.get(name);
    if (persistence === undefined) {
      persistence = { store: ModStore.openSync(state.modsDir, name, this.#options.durability, state.group, this.#metrics), versions: state.versions };
      persistence.store.onPruned = () => state.pruner.request();
      this.#persistence.set(name, persistence);
    }
    return persistence;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ModhostError("E_HOST_CLOSED", "the host is closed");
  }

  #slot(name: string): ModSlot {
    const slot = this.#slots.get(name);
    if (slot === undefined) throw new ModhostError("E_MOD_NOT_FOUND", `no mod named "${name}" is loaded`, { mod: name });
    return slot;
  }

  #onLog(mod: string, level: string, message: string): void {
    const verdict = this.#logLimiter.admit(mod);
    if (verdict.dropped > 0) this.#emitLog({ mod, level: "warn", message: `${verdict.dropped} log lines dropped (over ${this.#options.logRatePerSecond} per second)` });
    if (verdict.admit) this.#emitLog({ mod, level: level as LogEvent["level"], message });
  }

  #emitLog(line: LogEvent): void {
    this.#startupEvents?.push({ name: "log", args: [line] });
    this.#events.emit("log", line);
  }

}

function noop(): void {}

/**
 * Inline isolation loads isolated-vm here, which needs --no-node-snapshot on every supported Node
 * (isolated-vm's README says so for Node 20 and later, in 5.x, 6.x and 7.x alike).
 */
function checkInlineAllowed(): void {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (!flags.includes("--no-node-snapshot")) {
    throw new ModhostError("E_OPTIONS_INVALID", `isolation: "inline" needs this process to run with node --no-node-snapshot (or use the default isolation: "process")`, { field: "isolation" });
  }
  const unsafe = flags.find((flag) => flag === "--allow-natives-syntax" || flag === "--expose-gc" || flag.startsWith("--expose"));
  if (unsafe !== undefined) {
    throw new ModhostError("E_OPTIONS_INVALID", `isolation: "inline" refuses to run mods in a process started with ${unsafe}: V8 flags reach every isolate`, { field: "isolation" });
  }
  // Fails here, before any mod loads, when this Node has no isolated-vm installed (E_NODE_UNSUPPORTED).
  loadIsolatedVm();
}

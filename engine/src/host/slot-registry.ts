import { performance } from "node:perf_hooks";
import type { PrepareResult } from "../compile/mod-version.js";
import { ModhostError, messageOf, type ErrorInfo } from "../errors/modhost-error.js";
import { buildReport, type SwapReport } from "../model/swap-report.js";
import { describeRecovery, type RecoveryReport } from "../persist/recovery-report.js";
import type { ModOrigin } from "../registry/mod-origin.js";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import { ModSlot } from "../slot/mod-slot.js";
import { locationOf } from "../slot/fault-event.js";
import type { SwapCoordinator } from "../swap/swap-coordinator.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import { ModsWatcher, type ModFolderChange } from "../watch/mods-watcher.js";
import type { HostEvents, ModInfo } from "./host-events.js";
import type { HostMetrics } from "./host-metrics.js";
import type { ResolvedOptions } from "./host-options.js";
import { prepareMod } from "./mod-loader.js";
import { compileRecoveredVersions } from "./recovered-versions.js";
import { StateDirParts } from "./state-dir-parts.js";

/** What the registry needs of the host. */
export interface RegistryContext {
  readonly options: ResolvedOptions;
  readonly backend: SandboxBackend;
  readonly metrics: HostMetrics;
  readonly events: HostEvents;
  readonly swaps: SwapCoordinator;
  /** Has the host begun to close? (The watcher's changes are ignored from then on.) */
  closed(): boolean;
}

/** How many versions a slot keeps (the live one and its history). */
const HISTORY_SIZE = 5;

/**
 * The host's mods: a slot per loaded mod and the folders that failed to load; loading (a folder
 * at a time, requests coalesced), bringing a slot up from the stateDir (whose parts it owns:
 * host/state-dir-parts.ts) and the watcher of the mods folder.
 */
export class SlotRegistry {
  readonly #ctx: RegistryContext;
  readonly #slots = new Map<string, ModSlot>();
  readonly #failed = new Map<string, ModInfo>();
  /** The highest event sequence number handed out or recovered. */
  #seq = 0;
  /** Loads of new (or failed) folders, one at a time per folder. */
  readonly #loads = new KeyedMutex<string>();
  /** Per folder: a load queued behind the running one, which every later request shares (it reads the folder afresh when it starts). */
  readonly #queuedLoads = new Map<string, Promise<SwapReport>>();
  /** Every load not yet settled, for close(). */
  readonly #pendingLoads = new Set<Promise<SwapReport>>();
  /** The stateDir's shared parts and the mods' stores, when there is a stateDir. */
  #state: StateDirParts | undefined;
  /** The hash of each mod's folder version at load, to tell when the stateDir's live version differs. */
  readonly #folderHashes = new Map<string, string>();
  /** What recovery found for each mod, by name. */
  readonly #recoveries = new Map<string, RecoveryReport>();
  #watcher: ModsWatcher | undefined;

  constructor(ctx: RegistryContext) {
    this.#ctx = ctx;
  }

  get(name: string): ModSlot | undefined {
    return this.#slots.get(name);
  }

  /** The slot of a loaded mod; throws E_MOD_NOT_FOUND. */
  slot(name: string): ModSlot {
    const slot = this.#slots.get(name);
    if (slot === undefined) throw new ModhostError("E_MOD_NOT_FOUND", `no mod named "${name}" is loaded`, { mod: name });
    return slot;
  }

  slots(): IterableIterator<ModSlot> {
    return this.#slots.values();
  }

  /** The folder of a mod that failed to load, by its name. */
  #failedFolder(name: string): string | undefined {
    return [...this.#failed.entries()].find(([, info]) => info.name === name)?.[0];
  }

  /** Reloads a loaded mod, or tries again the folder of one that failed to load; throws E_MOD_NOT_FOUND. */
  reload(name: string): Promise<SwapReport> {
    const slot = this.#slots.get(name);
    if (slot !== undefined) return this.#ctx.swaps.reload(slot);
    const failed = this.#failedFolder(name);
    if (failed !== undefined) return this.loadFolder(failed);
    throw new ModhostError("E_MOD_NOT_FOUND", `no mod named "${name}" is loaded`, { mod: name });
  }

  /**
   * Continues a mod faulted with E_STATE_CORRUPT from its last good point, in the slot's queue;
   * throws E_NOTHING_TO_ACCEPT when it is not faulted so. Resolves with its error if it still
   * cannot start, undefined once it runs.
   */
  acceptStateLoss(name: string): Promise<ErrorInfo | undefined> {
    const slot = this.slot(name);
    if (slot.status !== "faulted" || slot.lastError?.code !== "E_STATE_CORRUPT") {
      throw new ModhostError("E_NOTHING_TO_ACCEPT", `mod ${name} is ${slot.status}${slot.lastError ? ` (${slot.lastError.code})` : ""}, not faulted with E_STATE_CORRUPT: there is no loss to accept`, { mod: name });
    }
    return slot.task(() => this.#bringUp(slot, true));
  }

  /** Every mod found (loaded or not), sorted by name; `originOf` says where a loaded one's live version came from. */
  list(originOf: (slot: ModSlot) => ModOrigin, pendingOf: (slot: ModSlot) => NonNullable<ModInfo["pending"]>): ModInfo[] {
    const out: ModInfo[] = [];
    for (const slot of this.#slots.values()) {
      const error = slot.lastError;
      const recovery = this.#recoveries.get(slot.name);
      out.push({
        name: slot.name,
        version: slot.version.manifest.version,
        status: slot.status,
        hash: slot.version.hash,
        origin: originOf(slot),
        ...(error !== undefined && slot.status !== "running" ? { error } : {}),
        ...(recovery !== undefined ? { recovery } : {}),
        ...(slot.pendingApproval !== undefined ? { pending: pendingOf(slot) } : {}),
      });
    }
    for (const failed of this.#failed.values()) out.push(failed);
    return out.sort((a, b) => a.name.localeCompare(b.name));
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

  /** The event names each loaded mod handles, by mod. */
  handledEvents(): Record<string, readonly string[]> {
    const slots = [...this.#slots.values()].sort((a, b) => a.name.localeCompare(b.name));
    return Object.fromEntries(slots.map((slot) => [slot.name, slot.handledEvents]));
  }

  /** The next event sequence number. */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** Opens the stateDir's shared parts (before any mod loads). */
  async openState(stateDir: string): Promise<void> {
    const { options, metrics, events } = this.#ctx;
    this.#state = await StateDirParts.open(stateDir, { options, metrics, events, referenced: (hash) => [...this.#slots.values()].some((slot) => slot.referencedVersions().has(hash)) });
  }

  /** Registers prepared folders (in folder order, so which of two same-named folders wins is deterministic) and brings them up. */
  async loadAll(prepared: readonly { dir: string; result: PrepareResult }[]): Promise<void> {
    const slots = prepared.map(({ dir, result }) => this.#register(dir, result));
    await Promise.all(
      slots.map(async (slot) => {
        if (slot === undefined) return;
        const error = await this.#bringUp(slot);
        // A mod that could not come up at create() (init threw or timed out, refused by the
        // type-check, state unreadable) is a fault: the host keeps it for late "fault" listeners.
        if (error !== undefined) this.#ctx.events.fault({ mod: slot.name, version: slot.version.manifest.version, code: error.code, message: error.message, quarantined: false, ...locationOf(error) });
      }),
    );
    this.#state?.requestPrune();
  }

  /** Watches the mods folder: reload a changed mod, load a new one, unload a removed one. */
  async watch(): Promise<void> {
    const { options, events } = this.#ctx;
    this.#watcher = await ModsWatcher.create(
      options.modsDir,
      { debounceMs: options.watchDebounceMs },
      (change) => {
        this.#onFolderChange(change).catch((err: unknown) => events.log({ mod: "<watch>", level: "error", message: `reacting to ${change.kind} ${change.dir}: ${(err as Error).message}` }));
      },
      (err) => events.log({ mod: "<watch>", level: "error", message: err.message }),
    );
  }

  /** Starts a slot: from its stateDir if it has state there, with init() otherwise. */
  async #bringUp(slot: ModSlot, acceptLoss = false): Promise<ErrorInfo | undefined> {
    const persistence = this.#state?.opened(slot.name);
    if (persistence === undefined) return this.#startFresh(slot);
    let outcome;
    try {
      outcome = await persistence.store.recover({ acceptLoss: acceptLoss || this.#ctx.options.acceptLoss.has(slot.name) });
    } catch (err) {
      // State exists but cannot be read at all (a newer format, an unreadable folder): fault this mod, load the others.
      const info = err instanceof ModhostError ? err.toInfo() : { code: "E_STATE_CORRUPT" as const, message: (err as Error).message };
      return slot.failResume({ ...info, mod: slot.name });
    }
    this.#reportRecovery(slot.name, outcome.report);
    if (outcome.kind === "corrupt") return slot.failResume({ ...outcome.error.toInfo(), mod: slot.name });
    if (outcome.kind === "fresh") return this.#startFresh(slot);
    const recovered = outcome.recovered;
    this.#seq = Math.max(this.#seq, recovered.maxSeq);
    const versions = await compileRecoveredVersions(slot.version, slot.name, recovered, persistence.versions, this.#ctx.options);
    if (!(versions instanceof Map)) return slot.failResume(versions);
    const error = await slot.resume({ recovered, versions });
    if (error === undefined && slot.version.hash !== this.#folderHashes.get(slot.name)) {
      this.#ctx.events.log({ mod: slot.name, level: "info", message: `resumed version ${slot.version.manifest.version} from the stateDir; the folder holds other code: reload to swap it in` });
    }
    return error;
  }

  /**
   * Loads one mod folder (a new one, or one that failed before), or reloads it if it has become a
   * mod meanwhile. Loads of one folder run one at a time: a request made while one runs shares a
   * single follow-up, which reads the folder afresh, so no save is missed and no folder registers
   * twice. Returns its report.
   */
  loadFolder(dir: string): Promise<SwapReport> {
    const queued = this.#queuedLoads.get(dir);
    if (queued !== undefined) return queued;
    const load = this.#loads.run(dir, () => {
      this.#queuedLoads.delete(dir); // from here on, a new request reads the folder again
      const slot = this.#byDir(dir);
      return slot !== undefined ? this.#ctx.swaps.reload(slot) : this.#loadFolderNow(dir);
    });
    this.#queuedLoads.set(dir, load);
    this.#pendingLoads.add(load);
    const settled = (): void => void this.#pendingLoads.delete(load);
    load.then(settled, settled);
    return load;
  }

  /** Stops the watcher and waits for loads under way (their slots are registered, and closed with the others). */
  async stopLoading(): Promise<void> {
    try {
      await this.#watcher?.close();
    } finally {
      await Promise.all([...this.#pendingLoads].map((load) => load.then(noop, noop)));
    }
  }

  /** Closes every slot; failures go to `errors`. */
  async closeSlots(errors: unknown[]): Promise<void> {
    await Promise.all([...this.#slots.values()].map((slot) => slot.close().catch((err: unknown) => errors.push(err))));
  }

  /** Flushes and closes the stateDir's parts (after the slots and the sandbox); failures go to `errors`. */
  async closeState(errors: unknown[]): Promise<void> {
    await this.#state?.close(errors);
  }

  /**
   * Starts a mod that has no saved state (its first load) with init(), after the type-check a
   * reload gets: a version the check refuses is not started; its folder is listed as faulted with
   * the error (E_TYPE at the .ts line), and a fixed save, reload() or load() tries it again. A
   * version resumed from the stateDir went live before and is never refused here.
   */
  async #startFresh(slot: ModSlot): Promise<ErrorInfo | undefined> {
    const refused = await this.#ctx.swaps.checkFirstLoad(slot.version);
    if (refused !== undefined) return this.#refuseFirstLoad(slot, refused);
    const failed = await slot.start();
    // A version whose definition cannot be read (an entry file saved empty or half-written) is
    // refused as the check refuses one: kept as the slot's version, it would be the "live" one
    // the fixed save is diffed against, and its unknown state shape asked for a migrate().
    if (failed?.code === "E_MOD_DEFINITION") return this.#refuseFirstLoad(slot, failed);
    return failed;
  }

  /** Lists a first load's folder as faulted with `refused`, and drops its slot (it never started). */
  #refuseFirstLoad(slot: ModSlot, refused: ErrorInfo): ErrorInfo {
    const error: ErrorInfo = { ...refused, mod: slot.name };
    const version = slot.version;
    if (this.#slots.get(slot.name) === slot) this.#slots.delete(slot.name);
    this.#failed.set(version.dir, { name: slot.name, version: version.manifest.version, status: "faulted", hash: version.hash, error });
    // Not awaited: acceptStateLoss runs this inside the slot's own queue, which close() waits on.
    // The slot never started, so there is nothing to stop but its queue.
    slot.close().catch((err: unknown) => this.#ctx.events.log({ mod: slot.name, level: "error", message: `closing the refused slot failed: ${messageOf(err)}` }));
    return error;
  }

  /** Keeps what recovery found for mods() and says it: a "recovery" event, and log lines for anything unusual. */
  #reportRecovery(mod: string, report: RecoveryReport): void {
    const events = this.#ctx.events;
    this.#recoveries.set(mod, report);
    for (const warning of report.warnings) events.log({ mod, level: "warn", message: `state recovery: ${warning}` });
    for (const damage of report.damage) events.log({ mod, level: "error", message: `state recovery: ${damage}` });
    events.recovery({ mod, kind: "startup", message: describeRecovery(report), report });
  }

  async #loadFolderNow(dir: string): Promise<SwapReport> {
    const startedAt = performance.now();
    const result = await prepareMod(dir, this.#ctx.options);
    const slot = this.#register(dir, result);
    const error = slot === undefined ? this.#failed.get(dir)?.error : await this.#bringUp(slot);
    const common = {
      mod: result.ok ? result.version.manifest.name : result.name,
      from: "",
      // The version that was loaded, or that was attempted and refused ("" when mod.json is unreadable).
      to: result.ok ? result.version.manifest.version : (result.version ?? ""),
      startedAt,
    };
    const report = buildReport(error === undefined ? { ok: true, kind: "swap", ...common, changes: [{ kind: "added", path: "mod" }] } : { ok: false, kind: "rejected", ...common, error });
    this.#ctx.events.swap(report);
    return report;
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
    const { options, events, swaps } = this.#ctx;
    const slot: ModSlot = new ModSlot(version, {
      backend: this.#ctx.backend,
      persistence: this.#state?.persistFor(name),
      checkpointEvery: options.checkpointEvery,
      checkpointIntervalMs: options.checkpointIntervalMs,
      quarantineAfter: options.quarantineAfter,
      probation: options.probation,
      historySize: HISTORY_SIZE,
      ...(options.randomSeed !== undefined ? { randomSeed: options.randomSeed } : {}),
      metrics: this.#ctx.metrics,
      fault: (fault) => events.fault(fault),
      storage: (mod, ok, message) => {
        events.log({ mod, level: ok ? "info" : "error", message });
        events.recovery({ mod, kind: ok ? "storage-restored" : "storage-failed", message });
      },
      restored: (mod, replayed) => events.recovery({ mod, kind: "restored", message: `restored from its checkpoint, ${replayed} journaled events replayed`, replayed }),
      versionsChanged: () => this.#state?.requestPrune(),
      // Straight to the swap coordinator's line for this mod: the host facade is not in the path.
      probationFailed: (reason) => {
        events.log({ mod: name, level: "warn", message: `rolling back: ${reason}` });
        void swaps.rollback(slot, { code: "E_PROBATION_FAILED", message: reason, mod: name });
      },
    });
    this.#slots.set(name, slot);
    return slot;
  }

  /** Reacts to the watcher: reload a changed mod, load a new one, unload a removed one. */
  async #onFolderChange(change: ModFolderChange): Promise<void> {
    if (this.#ctx.closed()) return;
    const slot = this.#byDir(change.dir);
    if (change.kind === "removed") {
      this.#failed.delete(change.dir);
      if (slot === undefined) return;
      this.#slots.delete(slot.name);
      await slot.close();
      this.#ctx.events.log({ mod: slot.name, level: "info", message: `unloaded: ${change.dir} was removed` });
      return;
    }
    if (slot !== undefined) await this.#ctx.swaps.reload(slot);
    else await this.loadFolder(change.dir);
  }

  #byDir(dir: string): ModSlot | undefined {
    return [...this.#slots.values()].find((s) => s.version.dir === dir);
  }
}

function noop(): void {}

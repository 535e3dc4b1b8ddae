import { dirname, resolve } from "node:path";
import { ModhostError, type ErrorInfo } from "../errors/modhost-error.js";
import { sandboxPidOf, sandboxPidsOf } from "../backends/sandbox-pids.js";
import type { ModHostOptions } from "./host-options.js";
import { assembleHost, type HostParts } from "./host-assembly.js";
import type { MetricsSnapshot } from "./host-metrics.js";
import type { EmitResult, TickEvent } from "../model/mod-events.js";
import { emitEvent, emitTick } from "./emit-tick.js";
import type { GameEventName, GamePayloadArgs, GameResult, GameTickEvent, GameTickResults, GameTypes, UntypedEventName, UntypedGame, UntypedTickEvent } from "../model/game-types.js";
import type { SwapReport } from "../model/swap-report.js";
import { throwCollected } from "../util/collected-errors.js";
import { HostPackages } from "./host-packages.js";
import type { ModHostEvents, ModInfo } from "./host-events.js";
import type { VersionInfo } from "./version-ledger.js";
import { startFleetHook, type FleetHook } from "./fleet-hook.js";

export type { ModInfo, RecoveryEvent, LogEvent, ModHostEvents } from "./host-events.js";

/**
 * The engine's public facade: loads every mod under `modsDir` into its own sandbox, dispatches
 * events to the mods that handle them, and reports results, faults and logs. Create it with
 * `ModHost.create()`; release it with `close()`. `G` types `emit` for the game (see `GameTypes`).
 */
export class ModHost<G extends GameTypes = UntypedGame> {
  /** Options, event streams, capability gate, sandbox, swap line, slot registry, version history. */
  readonly #parts: HostParts;
  #closed: Promise<void> | undefined;
  /** Signed packages: origins, tarball installs and the registry follower. */
  #packages: HostPackages | undefined;
  #fleet: FleetHook | undefined;

  private constructor(parts: HostParts) {
    this.#parts = parts;
  }

  /**
   * Validates the options, starts the sandbox (a child process unless `isolation: "inline"`) and
   * loads every mod. A mod that fails to load is listed by `mods()` as "faulted" with its error;
   * the others load anyway. Throws ModhostError only for bad options or an unusable modsDir.
   * `G` (optional) declares the game's events, payloads and results, and types `emit`:
   * `ModHost.create<{ events: { hit: { player: string } }; results: { hit: number } }>(options)`.
   */
  static async create<G extends GameTypes = UntypedGame>(options: ModHostOptions): Promise<ModHost<G>> {
    let made: ModHost<G> | undefined;
    const parts = await assembleHost(options, () => made !== undefined && made.#closed !== undefined);
    const host = (made = new ModHost<G>(parts));
    const { resolved, events, registry, versions, folders } = parts;
    try {
      if (resolved.stateDir !== undefined) {
        await registry.openState(resolved.stateDir);
        await versions.attach(resolved.stateDir);
      }
      await registry.loadAll(await folders);
      versions.noteStartup(registry.slots());
      if (resolved.watch) await registry.watch();
      host.#packages = await HostPackages.open(resolved, {
        load: (dir) => host.load(dir),
        live: (mod) => {
          const slot = registry.get(mod);
          return slot === undefined ? undefined : { version: slot.version.manifest.version, hash: slot.version.hash };
        },
        log: (level, message, mod) => events.log({ mod, level, message }),
      });
      await host.#packages.start();
      const packages = host.#packages;
      host.#fleet = startFleetHook(resolved.fleet, { mods: () => host.mods(), on: (e, l) => host.on(e, l), installVersion: (mod, pkg, version) => packages.installVersion(mod, pkg, version), log: (level, message, mod) => events.log({ mod, level, message }) });
    } catch (err) {
      await host.close();
      throw err;
    }
    setImmediate(() => events.endStartup());
    return host;
  }

  /**
   * Sends an event to every mod that handles it. Each mod runs its events in the order they were
   * emitted; the promise resolves with one result per mod once all have answered. A mod's failure
   * is a result with `ok: false`, never a rejection. On a typed host (`ModHost.create<Game>()`) the
   * event name, its payload and the results' `value` are typed by the game's declarations.
   */
  emit(event: UntypedEventName<G>, payload?: unknown): Promise<EmitResult[]>;
  emit<E extends GameEventName<G>>(event: E, ...payload: GamePayloadArgs<G, E>): Promise<EmitResult<GameResult<G, E>>[]>;
  emit(event: string, ...args: unknown[]): Promise<EmitResult[]> {
    if (this.#closed) return Promise.reject(new ModhostError("E_HOST_CLOSED", "emit() after close()"));
    return emitEvent(this.#parts.registry, this.#fleet, event, args[0]);
  }

  /**
   * Sends a game tick's events at once: result `i` is what `emit(events[i].event,
   * events[i].payload)` would have given (one result per mod handling it, in the same order). Each
   * mod gets its share of the tick, in the order given, as one batch: one crossing into its isolate
   * (a share over 1000 events is split), one promise per mod. Events emitted later, by emit() or
   * emitMany(), run after the whole tick. Rejects with E_EVENT_INVALID naming the first bad index
   * when `events` is not an array of `{ event, payload }`; nothing is queued then. On a typed host
   * each event's name and payload are checked like emit's, and result `i` is typed by its event.
   */
  emitMany(events: readonly UntypedTickEvent<G>[]): Promise<EmitResult[][]>;
  emitMany<const T extends readonly GameTickEvent<G>[]>(events: T): Promise<GameTickResults<G, T>>;
  emitMany(events: readonly TickEvent[]): Promise<EmitResult[][]> {
    if (this.#closed) return Promise.reject(new ModhostError("E_HOST_CLOSED", "emitMany() after close()"));
    return emitTick(this.#parts.registry, this.#fleet, events);
  }

  /**
   * The pid of the sandbox process (undefined with inline isolation). For operators' diagnostics
   * and for crash tests; killing it is survivable by design.
   */
  get sandboxPid(): number | undefined {
    return sandboxPidOf(this.#parts.backend);
  }

  /**
   * The pids of every sandbox process (`sandboxProcesses`, then any a repeated crasher was moved
   * to; empty with inline isolation). The first is `sandboxPid`.
   */
  get sandboxPids(): number[] {
    return sandboxPidsOf(this.#parts.backend);
  }

  /** Counters for operators: events, errors by code, latency histograms, swaps, faults, journal. */
  metrics(): MetricsSnapshot {
    const registry = this.#packages?.metrics();
    return { ...this.#parts.metrics.snapshot(), capabilities: this.#parts.gate.metrics(), ...(registry !== undefined ? { registry } : {}) };
  }

  /** Heap used and limit of each running mod's isolate, in bytes. */
  heaps(): Promise<Record<string, { usedBytes: number; limitBytes: number }>> {
    return this.#parts.registry.heaps();
  }

  /** Every mod found, with its version, status and hash. */
  mods(): ModInfo[] {
    return this.#parts.registry.list(
      (slot) => this.#packages?.origin(slot.name, slot.version.manifest.version, slot.version.hash, slot.version.signed) ?? { source: "folder" },
      (slot) => this.#parts.versions.pending(slot),
    );
  }

  /**
   * Reloads a mod from its folder: compile, type-check, safety rules, semantic diff against the
   * live version, then the swap transaction. Resolves with the report (a refusal is a report with
   * `ok: false`, never a rejection). Concurrent calls for one mod coalesce.
   */
  async reload(name: string): Promise<SwapReport> {
    this.#checkOpen();
    return this.#parts.registry.reload(name);
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
    if (dirname(full) !== this.#parts.resolved.modsDir) {
      throw new ModhostError("E_MOD_NOT_FOUND", `${full} is not a folder directly inside modsDir ${this.#parts.resolved.modsDir}`);
    }
    return this.#parts.registry.loadFolder(full);
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

  /**
   * Returns a mod to its previous version (or, with `to`, to the newest earlier version whose
   * version string or hash prefix is `to`; the versions after it leave the history), carrying its
   * current state (migrated if needed).
   */
  async rollback(name: string, options: { readonly to?: string } = {}): Promise<SwapReport> {
    this.#checkOpen();
    return this.#parts.swaps.rollback(this.#parts.registry.slot(name), undefined, options.to);
  }

  /** Applies the patch held for approval (it asked for a new permission or a higher limit). */
  async approve(name: string): Promise<SwapReport> {
    this.#checkOpen();
    return this.#parts.versions.approve(this.#parts.registry.slot(name), this.#parts.swaps);
  }

  /**
   * A mod's versions, oldest first: those a rollback can return to, the live one, and the one held
   * for approval, each with its hash, source, when and how it went live.
   */
  versions(name: string): VersionInfo[] {
    this.#checkOpen();
    return this.#parts.versions.list(this.#parts.registry.slot(name), (version) => this.#packages?.origin(name, version.manifest.version, version.hash, version.signed)?.source ?? "folder");
  }

  /**
   * Notes who asked for version `hash` of `mod` (a deploying user, an operator's reload): listed
   * as `by` by `versions()`, and kept in the stateDir with the rest of the version history.
   */
  noteVersionBy(mod: string, hash: string, by: string): void {
    this.#parts.versions.noteBy(mod, hash, by);
  }

  /** The event names each running mod handles, by mod (for consoles' completion). */
  handledEvents(): Record<string, readonly string[]> {
    return this.#parts.registry.handledEvents();
  }

  /** A copy of a mod's current state (after every event emitted before this call). */
  async state(name: string): Promise<unknown> {
    this.#checkOpen();
    return this.#parts.registry.slot(name).state();
  }

  /**
   * Continues a mod whose saved state was found damaged or incomplete (faulted with
   * E_STATE_CORRUPT) from the last good point: the operator accepts losing what came after it.
   * The files past that point are moved to the mod's `damaged/` folder. Resolves with the mod's
   * error if it still cannot start, undefined once it runs.
   */
  async acceptStateLoss(name: string): Promise<ErrorInfo | undefined> {
    this.#checkOpen();
    return this.#parts.registry.acceptStateLoss(name);
  }

  /**
   * Subscribes to "swap", "fault", "log" or "recovery". A listener attached right after
   * `await ModHost.create()` (before the next macrotask) first receives the events of that kind
   * emitted during create(): what recovery found, and the log lines and faults of bringing mods up.
   * Faults raised during create() (an init() that threw or ran out of time) are replayed to a
   * "fault" listener attached at any later time as well; `mods()` lists those mods as faulted.
   */
  on<E extends keyof ModHostEvents>(event: E, listener: (...args: ModHostEvents[E]) => void): this {
    this.#parts.events.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<E extends keyof ModHostEvents>(event: E, listener: (...args: ModHostEvents[E]) => void): this {
    this.#parts.events.off(event, listener);
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
      // The watcher stops, and loads of new folders still under way end first, so the slots they
      // register are closed too (their callers get their reports or errors).
      await this.#parts.registry.stopLoading().catch((err: unknown) => errors.push(err));
      await this.#parts.registry.closeSlots(errors);
      await this.#parts.backend.close().catch((err: unknown) => errors.push(err));
      await this.#parts.registry.closeState(errors);
      await this.#parts.versions.flush().catch((err: unknown) => errors.push(err));
      await this.#parts.typeCheck.close().catch((err: unknown) => errors.push(err));
      throwCollected(errors, "closing the host");
    })();
    return this.#closed;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ModhostError("E_HOST_CLOSED", "the host is closed");
  }
}


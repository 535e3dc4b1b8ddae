import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ModHost, modTsconfigTypes, type CapabilityFunction, type EmitResult, type FaultEvent, type HostLimits, type LogEvent, type ModHostOptions, type ModInfo, type SwapReport } from "modhost";
import type { EventName, EventPayload, ModResults } from "@modhost/sdk";
import { CapabilityRecorder, type CapabilityCall } from "./capability-recorder.js";
import { defaultIsolation } from "./default-isolation.js";
import { readManifest, replaceFolder, toPath, writeFiles, type PathLike } from "./mod-folder.js";
import { ModTestError } from "./mod-test-error.js";

/** Options of `loadMod`. Every one is optional. */
export interface LoadModOptions {
  /**
   * The game's capability functions, by permission name. A permission the mod asks for that is
   * missing here gets a stub returning undefined; every call is recorded in `mod.calls` either way.
   */
  readonly capabilities?: Readonly<Record<string, CapabilityFunction>>;
  /** The permissions granted to the mod. Default: every permission its mod.json asks for. */
  readonly grants?: readonly string[];
  /** Default: "inline" when this process may load isolated-vm (see `defaultIsolation`), else "process". */
  readonly isolation?: "process" | "inline";
  /** The operator's caps on the mod's limits (the engine's defaults otherwise). */
  readonly limits?: HostLimits;
  /**
   * The game's declaration files (ModEvents, ModCapabilities...) that swaps are type-checked
   * against. Default: the .d.ts files the mod's tsconfig.json names (as `modhost check` reads it:
   * "files", "include", compilerOptions.types paths, "modhost": { "types" }).
   */
  readonly modTypes?: readonly string[];
  /** Type errors in a swapped-in version: "block" (default) refuses it, "warn", "off". */
  readonly typecheck?: "block" | "warn" | "off";
  /** Automatic rollback of a misbehaving new version. Default false: a test sees what it did. */
  readonly probation?: ModHostOptions["probation"];
  /**
   * The logical time (ms since the epoch, or a Date) the mod's handlers see as `Date.now()` and
   * `new Date()`, from the first event on; change it with `setNow()` / `advance()`. Default: the
   * real time of each emit. (init() runs while the host starts and sees the real time.)
   */
  readonly now?: number | Date;
  /** Seed of the mod's Math.random (the host's randomSeed option): the same seed gives the same numbers. Default: random. */
  readonly seed?: number;
}

/** The value a handler of `E` returns: `ModResults[E]` when the game declares it, else unknown. */
export type ResultOf<E extends string> = E extends keyof ModResults ? ModResults[E] : unknown;

/** One event of a tick for `LoadedMod.emitMany`: the event's name and its payload, typed by the game's ModEvents when it declares them. */
export type TickEventOf<E extends EventName = EventName> = E extends EventName ? { readonly event: E; readonly payload: EventPayload<E> } : never;

/** A mod loaded into a real sandbox for a test. Release it with `close()`. */
export interface LoadedMod {
  /** The mod's name (from mod.json). */
  readonly name: string;
  /** The version now live. */
  readonly version: string;
  /** Its folder inside the temporary modsDir (a copy: the original is never touched). */
  readonly dir: string;
  /** The host running it, for anything the harness does not wrap (metrics, on("swap")...). */
  readonly host: ModHost;
  /** Every capability call the mod made, in order. */
  readonly calls: readonly CapabilityCall[];
  /** Every line the mod logged, in order. */
  readonly logs: readonly LogEvent[];
  /** Every fault (limit hit, crash, quarantine), in order. */
  readonly faults: readonly FaultEvent[];
  /** Sends one event; resolves with the mod's result (a failure is `ok: false`, not a rejection). */
  emit<E extends EventName>(event: E, payload: EventPayload<E>): Promise<EmitResult>;
  /**
   * Sends a tick of events at once, as the game's `host.emitMany()` does (one batch into the mod's
   * isolate): resolves with the mod's result for each event, in order. Rejects with
   * E_EVENT_NOT_HANDLED, before sending anything, if the mod has no handler for one of them.
   */
  emitMany(events: readonly TickEventOf[]): Promise<EmitResult[]>;
  /** Sends one event; resolves with the handler's return value, rejects with E_HANDLER_FAILED. */
  value<E extends EventName>(event: E, payload: EventPayload<E>): Promise<ResultOf<E>>;
  /** A copy of the mod's state after every event sent so far. */
  state<T = unknown>(): Promise<T>;
  /** Replaces the mod's files with those of another folder and reloads: the swap report. */
  swapTo(dir: PathLike): Promise<SwapReport>;
  /** Writes files (relative path -> text) over the current ones and reloads: the swap report. */
  patch(files: Readonly<Record<string, string>>): Promise<SwapReport>;
  /** Returns to the previous version: the report. */
  rollback(): Promise<SwapReport>;
  /** The mod as `host.mods()` lists it (status, version, hash, error). */
  info(): ModInfo;
  /** Returns and forgets the capability calls recorded so far. */
  takeCalls(): CapabilityCall[];
  /** The logical time the next event will see, or undefined when events see the real time. */
  readonly now: number | undefined;
  /** Sets the time (ms since the epoch, or a Date) the next events see as `Date.now()`. */
  setNow(time: number | Date): void;
  /** Moves the logical time forward by `ms` (starting from the real time if none was set). */
  advance(ms: number): void;
  /** Stops the sandbox and deletes the temporary folder. Idempotent. */
  close(): Promise<void>;
}

/**
 * Loads the mod in `dir` into a real modhost sandbox: copies it into a fresh temporary modsDir,
 * starts a ModHost with only this mod, grants what its mod.json asks for (unless `grants` says
 * otherwise) and waits until it runs. Rejects with ModTestError E_MOD_NOT_LOADED (and the
 * engine's error) if it does not load, E_MOD_FOLDER if the folder has no mod.json.
 *
 * ```ts
 * const mod = await loadMod(new URL("..", import.meta.url));
 * expect(await mod.value("hit", { player: "ann" })).toBe(1);
 * await mod.close();
 * ```
 */
export async function loadMod(dir: PathLike, options: LoadModOptions = {}): Promise<LoadedMod> {
  const source = toPath(dir);
  const manifest = await readManifest(source);
  const modsDir = await mkdtemp(join(tmpdir(), "modhost-sdk-test-"));
  let host: ModHost | undefined;
  try {
    const target = join(modsDir, basename(source) || manifest.name);
    await replaceFolder(source, target);
    const recorder = new CapabilityRecorder(options.capabilities ?? {}, manifest.permissions);
    const modTypes = options.modTypes ?? (await modTsconfigTypes(source)).types;
    host = await ModHost.create({
      modsDir,
      capabilities: recorder.functions,
      grants: { [manifest.name]: options.grants ?? manifest.permissions },
      isolation: options.isolation ?? defaultIsolation(),
      probation: options.probation ?? false,
      ...(options.seed !== undefined ? { randomSeed: options.seed } : {}),
      ...(options.limits !== undefined ? { limits: options.limits } : {}),
      ...(modTypes.length > 0 ? { modTypes } : {}),
      ...(options.typecheck !== undefined ? { typecheck: options.typecheck } : {}),
    });
    const mod = new ModUnderTest(host, manifest.name, target, modsDir, recorder);
    if (options.now !== undefined) mod.setNow(options.now);
    const info = mod.info();
    if (info.status !== "running") throw new ModTestError("E_MOD_NOT_LOADED", `mod "${manifest.name}" did not load (${info.status})`, info.error);
    return mod;
  } catch (err) {
    await host?.close();
    await rm(modsDir, { recursive: true, force: true });
    throw err;
  }
}

/** The LoadedMod implementation: owns the host and the temporary modsDir. */
class ModUnderTest implements LoadedMod {
  readonly name: string;
  readonly dir: string;
  readonly host: ModHost;
  readonly logs: LogEvent[] = [];
  readonly faults: FaultEvent[] = [];
  readonly #modsDir: string;
  readonly #recorder: CapabilityRecorder;
  #closed: Promise<void> | undefined;
  #now: number | undefined;

  constructor(host: ModHost, name: string, dir: string, modsDir: string, recorder: CapabilityRecorder) {
    this.host = host;
    this.name = name;
    this.dir = dir;
    this.#modsDir = modsDir;
    this.#recorder = recorder;
    host.on("log", (line) => this.logs.push(line));
    host.on("fault", (fault) => this.faults.push(fault));
  }

  get version(): string {
    return this.info().version;
  }

  get calls(): readonly CapabilityCall[] {
    return this.#recorder.calls;
  }

  get now(): number | undefined {
    return this.#now;
  }

  setNow(time: number | Date): void {
    const ms = typeof time === "number" ? time : time.getTime();
    if (!Number.isFinite(ms)) throw new ModTestError("E_CLOCK", `setNow() needs a finite time, got ${String(time)}`);
    this.#now = ms;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new ModTestError("E_CLOCK", `advance() needs a finite, non-negative number of ms, got ${String(ms)}`);
    this.#now = (this.#now ?? Date.now()) + ms;
  }

  async emit<E extends EventName>(event: E, payload: EventPayload<E>): Promise<EmitResult> {
    this.#checkOpen();
    const results = await this.#emitAt(event, payload);
    const result = results.find((r) => r.mod === this.name);
    if (result === undefined) throw new ModTestError("E_EVENT_NOT_HANDLED", `mod "${this.name}" has no handler for "${event}"`);
    return result;
  }

  async emitMany(events: readonly TickEventOf[]): Promise<EmitResult[]> {
    this.#checkOpen();
    const handled = this.host.handledEvents()[this.name] ?? [];
    const missing = events.find((e) => !handled.includes(e.event));
    if (missing !== undefined) throw new ModTestError("E_EVENT_NOT_HANDLED", `mod "${this.name}" has no handler for "${missing.event}"`);
    const results = await this.#atNow(() => this.host.emitMany(events));
    return results.map((rs, i) => {
      const result = rs.find((r) => r.mod === this.name);
      if (result === undefined) throw new ModTestError("E_EVENT_NOT_HANDLED", `mod "${this.name}" did not answer "${events[i]?.event}"`);
      return result;
    });
  }

  async value<E extends EventName>(event: E, payload: EventPayload<E>): Promise<ResultOf<E>> {
    const result = await this.emit(event, payload);
    if (!result.ok) throw new ModTestError("E_HANDLER_FAILED", `on.${event}() of "${this.name}" failed`, result.error);
    return result.value as ResultOf<E>;
  }

  async state<T = unknown>(): Promise<T> {
    this.#checkOpen();
    return (await this.host.state(this.name)) as T;
  }

  async swapTo(dir: PathLike): Promise<SwapReport> {
    this.#checkOpen();
    const source = toPath(dir);
    await readManifest(source);
    await replaceFolder(source, this.dir);
    return this.host.reload(this.name);
  }

  async patch(files: Readonly<Record<string, string>>): Promise<SwapReport> {
    this.#checkOpen();
    await writeFiles(this.dir, files);
    return this.host.reload(this.name);
  }

  rollback(): Promise<SwapReport> {
    this.#checkOpen();
    return this.host.rollback(this.name);
  }

  info(): ModInfo {
    const info = this.host.mods().find((m) => m.name === this.name);
    if (info === undefined) throw new ModTestError("E_MOD_NOT_LOADED", `mod "${this.name}" is not in the host`);
    return info;
  }

  /**
   * host.emit() stamps each event with the host's `Date.now()` synchronously, before its first
   * await (the logical time the handlers see, journaled with the event so replays see it too).
   * With a logical clock set, Date.now answers it for exactly that synchronous stretch; nothing
   * else runs in between, and it is restored even if emit throws.
   */
  #emitAt(event: string, payload: unknown): Promise<EmitResult[]> {
    return this.#atNow(() => this.host.emit(event, payload));
  }

  /** Runs `send` (emit or emitMany, which read Date.now() before their first await) at the logical time, if one is set. */
  #atNow<T>(send: () => Promise<T>): Promise<T> {
    const at = this.#now;
    if (at === undefined) return send();
    const realNow = Date.now;
    Date.now = () => at;
    try {
      return send();
    } finally {
      Date.now = realNow;
    }
  }

  takeCalls(): CapabilityCall[] {
    return this.#recorder.take();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      let failure: unknown;
      await this.host.close().catch((err: unknown) => (failure ??= err));
      await rm(this.#modsDir, { recursive: true, force: true }).catch((err: unknown) => (failure ??= err));
      if (failure !== undefined) throw failure;
    })();
    return this.#closed;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ModTestError("E_CLOSED", `mod "${this.name}" was closed`);
  }
}

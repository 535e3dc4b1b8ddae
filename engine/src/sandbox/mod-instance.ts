import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { LogBudget } from "./log-budget.js";
import { ModhostError } from "../errors/modhost-error.js";
import type { ErrorCode } from "../errors/error-codes.js";
import { IsolateHandle, type CallOutcome, type IsolateFunction, type ModuleSet } from "./ivm.js";
import { starvedEvents, threadBudget } from "./cpu-budget.js";
import { isolatePool } from "./isolate-pool.js";
import {
  internalModuleSource,
  PRELUDE_FUNCTIONS,
  SDK_MODULE_SOURCE,
  bootModuleSource,
  preludeSource,
} from "./prelude-source.js";
import type {
  CapabilityRecord,
  DispatchOutcome,
  LoadSpec,
  ModShape,
  SandboxBridge,
  StateSnapshot,
  WireEvent,
} from "../model/wire.js";

const SDK_SPECIFIER = "@modhost/sdk";
const INTERNAL_PATH = "modhost:internal";
const BOOT_PATH = "modhost:boot";
const LOG_LEVELS = new Set(["debug", "info", "warn", "error"]);
/** Capability time limit when a LoadSpec names none (ms). */
const DEFAULT_CAPABILITY_TIMEOUT_MS = 100;

/** The refusal of a capability call made outside an event (it holds for the rest of the call). */
function outsideEvent(permission: unknown): string {
  return JSON.stringify({
    ok: false,
    code: "E_CAPABILITY_UNAVAILABLE",
    message: `host.${String(permission)}() was called outside an event handler (top-level code, init, migrate or a state getter); capabilities exist only while a handler runs`,
    final: true,
  });
}

type PreludeApi = Record<(typeof PRELUDE_FUNCTIONS)[number], IsolateFunction>;

/** A version that could not be brought up, with the isolate's stack when its code threw. */
export class ModLoadError extends ModhostError {
  readonly isolateStack: string | undefined;
  constructor(code: ErrorCode, message: string, mod: string, isolateStack?: string) {
    super(code, message, { mod });
    this.isolateStack = isolateStack;
  }
}

/** A failure of init/migrate/export as the prelude reports it. */
export interface InstanceFailure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly stack?: string;
}

/** The outcome of a state operation: done, failed inside the mod, or the isolate stopped. */
export type StateOutcome<T> =
  | { readonly kind: "ok"; readonly value: T }
  | { readonly kind: "failed"; readonly error: InstanceFailure }
  | { readonly kind: "timeout" | "memory" | "disposed" };

/**
 * One version of one mod running in its own isolate. Synchronous: it is driven by a backend that
 * owns it (inline in the host, or inside the sandbox process), and disposed by that owner.
 */
export class ModInstance {
  #spec: LoadSpec;
  #shape: ModShape;
  #modules: ModuleSet | undefined;
  #staged: { spec: LoadSpec; shape: ModShape; modules: ModuleSet } | undefined;
  readonly #isolate: IsolateHandle;
  readonly #api: PreludeApi;
  readonly #bridge: SandboxBridge;
  /** Recorded capability answers for the events of the dispatch in progress. */
  #recorded = new Map<number, { caps: readonly CapabilityRecord[]; cursor: number }>();
  #replaying = false;
  /** The events of the dispatch in progress: capabilities are answered only for them. */
  #dispatching: ReadonlySet<number> | undefined;
  /**
   * Per event of the dispatch in progress: capability time not charged to the mod (ms). The
   * mod's time limit covers its own time and, of each call, up to the capability time limit.
   */
  readonly #uncharged = new Map<number, number>();
  /** The event whose time budget ran out inside a capability call: it is stopped as a timeout. */
  #cutSeq: number | undefined;
  readonly #logs: LogBudget;

  private constructor(spec: LoadSpec, isolate: IsolateHandle, api: PreludeApi, shape: ModShape, bridge: SandboxBridge, logs: LogBudget) {
    this.#spec = spec;
    this.#isolate = isolate;
    this.#api = api;
    this.#shape = shape;
    this.#bridge = bridge;
    this.#logs = logs;
  }

  /** The live version's load spec. */
  get spec(): LoadSpec {
    return this.#spec;
  }

  /** What the live version's definition handles. */
  get shape(): ModShape {
    return this.#shape;
  }

  /**
   * Creates the isolate, runs the prelude, links and evaluates the mod's modules. Throws a
   * ModhostError (E_MOD_LOAD_THREW, E_MOD_DEFINITION, E_TIMEOUT, E_MEMORY_LIMIT) if the mod cannot
   * be brought up; the isolate is disposed in that case.
   */
  static create(spec: LoadSpec, bridge: SandboxBridge, seed: readonly number[], logs = new LogBudget(spec.logLinesPerSecond, spec.logBytesPerSecond)): ModInstance {
    // w17-cpu hook: an isolate made ahead of need, with the prelude run, if one waits (isolate-pool.ts).
    const premade = isolatePool.take(spec.memoryMb);
    const isolate = premade?.isolate ?? IsolateHandle.create(spec.memoryMb);
    try {
      const holder: { instance?: ModInstance } = {};
      const api =
        premade?.api ??
        expectOk(
          isolate.runScriptForFunctions(preludeSource(), "modhost:prelude", PRELUDE_FUNCTIONS, 1000),
          spec,
          "starting the sandbox",
        );
      const logFn = isolate.callback((level, message) => (holder.instance === undefined ? undefined : holder.instance.#onLog(level, message)));
      const capFn = isolate.callback((seq, permission, argsJson, elapsedMs) => {
        const instance = holder.instance;
        if (instance === undefined) return outsideEvent(permission);
        return instance.#onCapability(seq, permission, argsJson, elapsedMs);
      });
      expectOk(isolate.call(api.boot, [logFn, capFn, JSON.stringify(seed)], 1000), spec, "starting the sandbox");
      const staged = stageVersion(isolate, api, spec);
      if (!staged.ok) throw staged.error;
      expectOk(isolate.call(api.activate, [], 1000), spec, "starting the mod");
      const instance = new ModInstance(spec, isolate, api, staged.shape, bridge, logs);
      instance.#modules = staged.modules;
      holder.instance = instance;
      return instance;
    } catch (err) {
      isolate.dispose();
      throw err;
    }
  }

  /**
   * Loads another version's modules into this isolate while the live version keeps serving.
   * Nothing changes for events until activate() or migrateInPlace(); abortStaged() forgets it.
   * A failure here may have left globals changed by the new version's top-level code, so the
   * owner should treat the instance as tainted.
   */
  stage(spec: LoadSpec): { ok: true; shape: ModShape } | { ok: false; error: ModhostError } {
    this.abortStaged();
    const staged = stageVersion(this.#isolate, this.#api, spec);
    if (!staged.ok) return staged;
    this.#staged = { spec, shape: staged.shape, modules: staged.modules };
    return { ok: true, shape: staged.shape };
  }

  /** Makes the staged version live; the state object is handed over untouched. */
  activate(): StateOutcome<void> {
    const staged = this.#staged;
    if (staged === undefined) return { kind: "failed", error: { code: "E_INTERNAL", message: "no version is staged" } };
    const out = this.#isolate.call(this.#api.activate, [], 100);
    if (out.kind !== "ok") return out.kind === "threw" ? { kind: "failed", error: { code: "E_INTERNAL", message: out.message } } : { kind: out.kind };
    this.#promote(staged);
    return { kind: "ok", value: undefined };
  }

  /**
   * Runs the staged version's migrate() on the live state; on success that version is live and
   * the result is the new state's snapshot. On failure the state may be half-migrated: the owner
   * must restore the instance from its checkpoint.
   */
  migrateInPlace(fromVersion: string, now: number): StateOutcome<StateSnapshot> {
    const staged = this.#staged;
    if (staged === undefined) return { kind: "failed", error: { code: "E_INTERNAL", message: "no version is staged" } };
    const out = this.#isolate.call(this.#api.migrateInPlace, [fromVersion, now], staged.spec.callTimeoutMs * 10);
    if (out.kind !== "ok") return out.kind === "threw" ? { kind: "failed", error: { code: "E_MIGRATION_FAILED", message: out.message } } : { kind: out.kind };
    if (out.value.startsWith("{")) return { kind: "failed", error: failureOf(out.value, "E_MIGRATION_FAILED") };
    let snapshot: StateSnapshot;
    try {
      snapshot = splitSnapshot(out.value);
    } catch (err) {
      return { kind: "failed", error: { code: "E_MIGRATION_FAILED", message: `the migrated state could not be read: ${(err as Error).message}` } };
    }
    this.#promote(staged);
    return { kind: "ok", value: snapshot };
  }

  /** Forgets a staged version, if any. */
  abortStaged(): void {
    const staged = this.#staged;
    if (staged === undefined) return;
    this.#staged = undefined;
    staged.modules.release();
    if (!this.dead) this.#isolate.call(this.#api.abort, [], 100);
  }

  #promote(staged: { spec: LoadSpec; shape: ModShape; modules: ModuleSet }): void {
    this.#staged = undefined;
    this.#modules?.release();
    this.#modules = staged.modules;
    this.#spec = staged.spec;
    this.#shape = staged.shape;
  }

  /** Has the isolate gone (memory limit, or disposed)? */
  get dead(): boolean {
    return this.#isolate.disposed;
  }

  /** Runs init() and makes its result the state. */
  initState(now: number): StateOutcome<void> {
    // init() builds a whole world once (10k entities take tens of ms): it gets the load budget.
    return this.#stateCall(this.#api.initState, [now], "E_THREW", this.spec.callTimeoutMs * 10);
  }

  /** Runs migrate(old, fromVersion) and makes its result the state. */
  migrateState(oldStateJson: string, fromVersion: string, now: number): StateOutcome<void> {
    return this.#stateCall(this.#api.migrateState, [oldStateJson, fromVersion, now], "E_MIGRATION_FAILED", this.spec.callTimeoutMs * 10);
  }

  /** Replaces the state and the random generator's position with a snapshot. */
  importState(snapshot: StateSnapshot): StateOutcome<void> {
    const out = this.#isolate.call(this.#api.importState, [snapshot.state, JSON.stringify(snapshot.rng)], this.spec.callTimeoutMs * 10);
    if (out.kind === "ok") return { kind: "ok", value: undefined };
    if (out.kind === "threw") return { kind: "failed", error: { code: "E_STATE_CORRUPT", message: out.message } };
    return { kind: out.kind };
  }

  /** The state as JSON text plus the random generator's position. */
  exportState(): StateOutcome<StateSnapshot> {
    const out = this.#isolate.call(this.#api.exportState, [], this.spec.callTimeoutMs * 10);
    if (out.kind !== "ok") return out.kind === "threw" ? { kind: "failed", error: { code: "E_INTERNAL", message: out.message } } : { kind: out.kind };
    if (out.value.startsWith("{")) return { kind: "failed", error: failureOf(out.value, "E_NOT_PLAIN_DATA") };
    try {
      return { kind: "ok", value: splitSnapshot(out.value) };
    } catch (err) {
      return { kind: "failed", error: { code: "E_NOT_PLAIN_DATA", message: `the state could not be read: ${(err as Error).message}` } };
    }
  }

  /**
   * Runs events in order. Each event gets the full call timeout: the prelude starts new events
   * only during the first tenth of it, and the call is cut at slice + timeout. A replay serves
   * capability calls from the records only and drops log lines.
   */
  dispatch(events: readonly WireEvent[], replay: boolean): DispatchOutcome {
    this.#recorded.clear();
    for (const event of events) if (event.caps && event.caps.length > 0) this.#recorded.set(event.seq, { caps: event.caps, cursor: 0 });
    this.#replaying = replay;
    this.#dispatching = new Set(events.map((event) => event.seq));
    this.#uncharged.clear();
    this.#cutSeq = undefined;
    // A replay re-runs events that already succeeded once: a loaded machine must not fail them.
    const timeout = this.spec.callTimeoutMs * (replay ? 10 : 1);
    const sliceMs = Math.max(1, Math.floor(this.spec.callTimeoutMs / 10));
    const parts: string[] = [];
    let done = 0;
    let late = 0;
    const finish = (stop?: DispatchOutcome["stop"]): DispatchOutcome => ({
      count: done,
      resultsJson: `[${parts.join(",")}]`,
      ...(stop !== undefined ? { stop } : {}),
      ...(late > 0 ? { late } : {}),
    });
    try {
      while (done < events.length) {
        const batch = encodeBatch(events, done);
        // w17-cpu hook: the rerun of an event cut while starved runs with the wall backstop, once.
        const call = (): CallOutcome<string> => this.#isolate.call(this.#api.dispatch, [batch, sliceMs], timeout + sliceMs);
        const out = starvedEvents.take(this.spec.name, events, done) ? threadBudget().inBackstop(call) : call();
        if (out.kind === "ok") {
          const { count, inner } = splitResults(out.value);
          if (count > 0) parts.push(inner);
          done += count;
          // The prelude ended the slice before the event whose time ran out in a capability call.
          if (this.#cutSeq !== undefined) return finish("timeout");
          continue;
        }
        if (out.kind !== "timeout" && out.kind !== "threw") return finish(out.kind);
        // What finished before the call was stopped (or threw) still counts.
        const collected = this.#isolate.call(this.#api.collect, [], 100);
        const finished = this.#isolate.call(this.#api.sliceFinished, [], 100);
        if (collected.kind === "ok") {
          const { count, inner } = splitResults(collected.value);
          if (count > 0) parts.push(inner);
          done += count;
        }
        const sliceRanToEnd = finished.kind === "ok" && finished.value === "1";
        if (out.kind === "timeout") {
          if (!sliceRanToEnd && out.starved === true) {
            // w17-cpu hook: cut without having had its limit of CPU (a starved machine, not the
            // mod): the state is tainted, so the owner restores it and runs the rest again.
            const culprit = events[done];
            if (culprit !== undefined) starvedEvents.add(this.spec.name, culprit.seq);
            return finish("lost");
          }
          if (!sliceRanToEnd) return finish("timeout");
          late++; // promise callbacks a handler left behind ran out of time after the slice: stopped
          continue;
        }
        if (sliceRanToEnd) {
          // An unhandled rejection surfaces after the slice: every event of it did run.
          this.#onLog("warn", `unhandled promise rejection: ${out.message}`);
          continue;
        }
        // The prelude itself failed: the mod broke something it relies on. Fail the rest.
        const error = JSON.stringify({ ok: false, error: { code: "E_THREW", message: `the sandbox runtime failed: ${out.message}` } });
        for (; done < events.length; done++) parts.push(error);
      }
      return finish();
    } finally {
      this.#recorded.clear();
      this.#replaying = false;
      this.#dispatching = undefined;
      this.#uncharged.clear();
      this.#cutSeq = undefined;
      this.#sendLogSummary();
    }
  }

  /** Heap used and the limit, in bytes. */
  heap(): { usedBytes: number; limitBytes: number } | undefined {
    return this.#isolate.heap();
  }

  /** Releases the isolate. Idempotent. */
  dispose(): void {
    this.#isolate.dispose();
  }

  /**
   * A line the mod logged. Lines over the mod's rate are dropped here, before they leave the
   * sandbox; the answer "drop" tells the prelude to drop the rest of this call's lines itself.
   * Level "dropped" carries the count of lines the prelude dropped.
   */
  #onLog(level: unknown, message: unknown): string | undefined {
    if (this.#replaying) return undefined;
    if (level === "dropped" && typeof message === "string") {
      this.#logs.countDropped(Math.max(0, Math.min(1e9, Number(message) || 0)));
      return undefined;
    }
    if (typeof level !== "string" || typeof message !== "string" || !LOG_LEVELS.has(level)) return undefined;
    if (!this.#logs.admit(message.length)) return "drop";
    this.#sendLogSummary();
    this.#sendLog(level, message);
    return undefined;
  }

  #sendLogSummary(): void {
    const summary = this.#logs.summary();
    if (summary !== undefined) this.#sendLog("warn", summary);
  }

  #sendLog(level: string, message: string): void {
    try {
      this.#bridge.log(this.spec.name, level, message);
    } catch (err) {
      // A failing log listener must not break the mod's call; it is the host's problem.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  /**
   * A capability call from the isolate. Checked here first (the host checks again): only inside
   * an event of the dispatch in progress, only a permission the live version was granted, and
   * only while the event's time budget lasts: its own time plus, of each call, up to the
   * capability time limit (isolated-vm's timeout pauses while a host callback runs, so without
   * this a mod looping on a capability would never time out).
   */
  #onCapability(seq: unknown, permission: unknown, argsJson: unknown, elapsedMs: unknown): string {
    if (typeof seq !== "number" || typeof permission !== "string" || typeof argsJson !== "string" || typeof elapsedMs !== "number") {
      return JSON.stringify({ ok: false, code: "E_INTERNAL", message: "malformed capability call" });
    }
    // Before the records: a replay must refuse exactly what the first run refused.
    if (this.#dispatching === undefined || !this.#dispatching.has(seq)) return outsideEvent(permission);
    if (!this.#spec.permissions.includes(permission)) {
      return JSON.stringify({ ok: false, code: "E_PERMISSION_NOT_GRANTED", message: `host.${permission}() is not granted to version ${this.#spec.version} of this mod` });
    }
    const recorded = this.#recorded.get(seq);
    if (recorded !== undefined && recorded.cursor < recorded.caps.length) {
      const record = recorded.caps[recorded.cursor++] as CapabilityRecord;
      if (record.permission === permission) return record.reply;
      return JSON.stringify({ ok: false, code: "E_REPLAY_DIVERGED", message: `replay called host.${permission}() where the journal has host.${record.permission}()` });
    }
    if (this.#replaying) {
      return JSON.stringify({ ok: false, code: "E_REPLAY_DIVERGED", message: `replay called host.${permission}(), which the journal does not hold` });
    }
    const limitMs = this.#spec.callTimeoutMs;
    const uncharged = this.#uncharged.get(seq) ?? 0;
    // w17-cpu hook: wall time the thread spent waiting for a CPU is not the event's.
    if (elapsedMs - uncharged >= limitMs && !threadBudget().withinLimit(elapsedMs, uncharged, limitMs)) {
      this.#cutSeq = seq;
      return JSON.stringify({
        ok: false,
        code: "E_TIMEOUT",
        message: `host.${permission}() was not called: the event has used its ${limitMs} ms time limit (its own time and its capability calls)`,
        final: true,
        cut: true,
      });
    }
    const started = performance.now();
    let answer;
    try {
      answer = this.#bridge.capability({ mod: this.#spec.name, version: this.#spec.hash, seq, permission, args: argsJson });
    } catch (err) {
      return JSON.stringify({ ok: false, code: "E_INTERNAL", message: `capability bridge failed: ${err instanceof Error ? err.message : String(err)}` });
    }
    const ms = performance.now() - started;
    // A late answer is the game's time; of any other, the mod pays up to the capability time limit.
    const capMs = this.#spec.capabilityTimeoutMs ?? DEFAULT_CAPABILITY_TIMEOUT_MS;
    this.#uncharged.set(seq, uncharged + (answer.late ? ms : Math.max(0, ms - capMs)));
    return answer.reply;
  }

  #stateCall(fn: IsolateFunction, args: unknown[], fallback: ErrorCode, timeoutMs: number): StateOutcome<void> {
    const out = this.#isolate.call(fn, args, timeoutMs);
    if (out.kind === "threw") return { kind: "failed", error: { code: fallback, message: out.message } };
    if (out.kind !== "ok") return { kind: out.kind };
    const reply = JSON.parse(out.value) as { ok: boolean };
    if (reply.ok) return { kind: "ok", value: undefined };
    return { kind: "failed", error: failureOf(out.value, fallback) };
  }
}

/** Builds a version's modules in the isolate and reads its definition's shape. */
function stageVersion(
  isolate: IsolateHandle,
  api: PreludeApi,
  spec: LoadSpec,
): { ok: true; shape: ModShape; modules: ModuleSet } | { ok: false; error: ModhostError } {
  const config = JSON.stringify({
    mod: { name: spec.name, version: spec.version },
    permissions: spec.permissions,
    maxBytes: spec.maxBytes,
    maxLogsPerCall: spec.maxLogsPerCall,
  });
  try {
    const registerName = `__modhost_${randomBytes(12).toString("hex")}`;
    expectOk(isolate.call(api.stage, [config, registerName], 1000), spec, "starting the sandbox");
    const imports = new Map<string, Readonly<Record<string, string>>>();
    for (const module of spec.modules) {
      if (!module.path.endsWith(".ts")) throw new ModhostError("E_INTERNAL", `module path ${module.path} is not a .ts file`, { mod: spec.name });
      imports.set(module.path, module.imports);
    }
    const sources = [
      ...spec.modules.map((m) => ({ path: m.path, code: m.js })),
      { path: SDK_SPECIFIER, code: SDK_MODULE_SOURCE },
      { path: INTERNAL_PATH, code: internalModuleSource(registerName) },
      { path: BOOT_PATH, code: bootModuleSource(spec.entry) },
    ];
    const resolve = (specifier: string, referrer: string): string | { refused: string } => {
      if (referrer === BOOT_PATH) {
        if (specifier === INTERNAL_PATH || specifier === spec.entry) return specifier;
        return { refused: `boot cannot import ${specifier}` };
      }
      const target = imports.get(referrer)?.[specifier];
      if (target === undefined) return { refused: `import "${specifier}" from ${referrer} is not allowed` };
      return target;
    };
    const loaded = isolate.loadModules(sources, BOOT_PATH, resolve, spec.callTimeoutMs * 10);
    if (loaded.kind !== "ok") throw outcomeError(loaded, spec, "loading the mod's modules", "E_MOD_LOAD_THREW");
    try {
      const described = expectOk(isolate.call(api.describe, [], spec.callTimeoutMs), spec, "reading the mod's definition", "E_MOD_DEFINITION");
      return { ok: true, shape: parseShape(described, spec), modules: loaded.value };
    } catch (err) {
      loaded.value.release();
      throw err;
    }
  } catch (err) {
    if (err instanceof ModhostError) return { ok: false, error: err };
    throw err;
  }
}

/** The definition's shape as the prelude describes it, checked: the text comes from the isolate. */
function parseShape(text: string, spec: LoadSpec): ModShape {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModhostError("E_MOD_DEFINITION", `the mod's definition could not be read: ${(err as Error).message}`, { mod: spec.name });
  }
  const shape = raw as Partial<ModShape>;
  if (!Array.isArray(shape.events) || !shape.events.every((e) => typeof e === "string") || typeof shape.hasInit !== "boolean" || typeof shape.hasMigrate !== "boolean") {
    throw new ModhostError("E_MOD_DEFINITION", "the mod's definition could not be read", { mod: spec.name });
  }
  return { events: shape.events, hasInit: shape.hasInit, hasMigrate: shape.hasMigrate };
}

/** "rng\nstate" as the prelude exports it. */
function splitSnapshot(text: string): StateSnapshot {
  const newline = text.indexOf("\n");
  const rng = JSON.parse(text.slice(0, newline)) as unknown;
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((n) => Number.isInteger(n))) throw new Error("the random generator's position is malformed");
  return { rng: rng as number[], state: text.slice(newline + 1) };
}

/** Encodes events from `from` on as the prelude's batch: [[seq, name, payload, now], ...]. */
function encodeBatch(events: readonly WireEvent[], from: number): string {
  let out = "[";
  for (let i = from; i < events.length; i++) {
    const e = events[i] as WireEvent;
    out += `${i > from ? "," : ""}[${e.seq},${JSON.stringify(e.name)},${e.payload},${e.now}]`;
  }
  return out + "]";
}

/** The prelude answers `{"done":n,"results":[...]}`; returns n and the array's inner text. */
function splitResults(text: string): { count: number; inner: string } {
  const marker = `,"results":[`;
  const at = text.indexOf(marker);
  const count = Number(text.slice(8, at));
  return { count, inner: text.slice(at + marker.length, -2) };
}

function failureOf(envelope: string, fallback: ErrorCode): InstanceFailure {
  let parsed: { error?: { code?: string; message?: string; stack?: string } };
  try {
    parsed = JSON.parse(envelope) as typeof parsed;
  } catch (err) {
    // Text from the isolate is untrusted: an unreadable envelope is a failure of its own.
    return { code: fallback, message: `the sandbox answered with unreadable text (${(err as Error).message})` };
  }
  const error = parsed.error ?? {};
  const failure: InstanceFailure = {
    code: (error.code as ErrorCode | undefined) ?? fallback,
    message: error.message ?? "failed",
    ...(error.stack !== undefined ? { stack: error.stack } : {}),
  };
  return failure;
}

function expectOk<T>(outcome: CallOutcome<T>, spec: LoadSpec, doing: string, code: ErrorCode = "E_MOD_LOAD_THREW"): T {
  if (outcome.kind === "ok") return outcome.value;
  throw outcomeError(outcome, spec, doing, code);
}

function outcomeError(outcome: Exclude<CallOutcome<unknown>, { kind: "ok" }>, spec: LoadSpec, doing: string, code: ErrorCode): ModhostError {
  const mod = { mod: spec.name };
  switch (outcome.kind) {
    case "timeout":
      return new ModhostError("E_TIMEOUT", `${doing} took longer than the time limit`, mod);
    case "memory":
      return new ModhostError("E_MEMORY_LIMIT", `${doing} ran past the ${spec.memoryMb} MB memory limit`, mod);
    case "disposed":
      return new ModhostError("E_INTERNAL", `${doing}: the isolate was disposed`, mod);
    case "threw": {
      const definition = /must `export default defineMod|must be (a function|an object)|export named 'default'/.test(outcome.message);
      return new ModLoadError(definition ? "E_MOD_DEFINITION" : code, `${doing}: ${outcome.message}`, spec.name, outcome.stack);
    }
  }
}

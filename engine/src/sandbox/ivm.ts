/**
 * The only module that imports isolated-vm. It turns isolated-vm's failures into an outcome union
 * and keeps every handle on the host side: no Reference, Module, Context or isolate ever crosses
 * into an isolate, only strings, numbers and host callbacks wrapped as plain functions.
 */
import { createRequire } from "node:module";
// "isolated-vm" is not a dependency name: engine/tsconfig.json maps it to whichever of the aliases
// below is installed (their declarations are identical).
import type * as IvmTypes from "isolated-vm";
import { ModhostError } from "../errors/modhost-error.js";
import { trackResource } from "../util/resource-registry.js";
import { threadBudget } from "./cpu-budget.js";
import { withSynchronousRecompilation } from "./isolate-compile-mode.js";
import { EMPTY_PROFILE, IsolateProfiler, type LineProfile } from "./isolate-profiler.js";

type Ivm = typeof IvmTypes;
let ivmModule: Ivm | undefined;
let ivmPackage: IsolatedVmPackage | undefined;

/**
 * Which isolated-vm each Node.js ABI (`process.versions.modules`) loads, best first. Each release
 * supports only some Node majors and npm cannot choose a dependency by Node version, so
 * engine/package.json lists one npm alias per release as an optional dependency: npm skips the
 * ones whose `engines` exclude the running Node (and tolerates a failed build), and this table picks.
 */
const BY_ABI: Readonly<Record<string, { readonly node: number; readonly packages: readonly string[] }>> = {
  "115": { node: 20, packages: ["isolated-vm-5"] }, // 5.0.4, compiled on install
  "127": { node: 22, packages: ["isolated-vm-6"] }, // 6.2.0, prebuilt
  "137": { node: 24, packages: ["isolated-vm-6", "isolated-vm-7"] }, // 6.2.0 / 7.0.1, prebuilt
  "147": { node: 26, packages: ["isolated-vm-7"] }, // 7.0.1, prebuilt
};

/** The isolated-vm release loaded in this process. */
export interface IsolatedVmPackage {
  /** The npm alias it is installed under (e.g. "isolated-vm-6"). */
  readonly alias: string;
  /** isolated-vm's own version (e.g. "6.2.0"). */
  readonly version: string;
}

/** The Node.js majors modhost runs on, for messages and docs. */
export const SUPPORTED_NODE_MAJORS: readonly number[] = Object.values(BY_ABI).map((entry) => entry.node);

/**
 * Loads the isolated-vm release built for this Node on first use (so that importing modhost in
 * process isolation never does). Throws E_NODE_UNSUPPORTED when this Node has none, or when npm
 * did not install it (node_modules installed under another Node).
 */
export function loadIsolatedVm(): Ivm {
  if (ivmModule === undefined) {
    const found = resolveIsolatedVm(process.versions.modules, process.versions.node);
    ivmModule = found.module;
    ivmPackage = found.pkg;
  }
  return ivmModule;
}

/** Loads the isolated-vm release the table gives for Node ABI `abi` (exported for tests). */
export function resolveIsolatedVm(abi: string, nodeVersion: string): { readonly module: Ivm; readonly pkg: IsolatedVmPackage } {
  const require = createRequire(import.meta.url);
  const entry = BY_ABI[abi];
  const supported = SUPPORTED_NODE_MAJORS.join(", ");
  if (entry === undefined) {
    throw new ModhostError("E_NODE_UNSUPPORTED", `modhost runs mods with isolated-vm, which has no release for Node ${nodeVersion} (ABI ${abi}); supported: Node ${supported}`, {});
  }
  const failures: string[] = [];
  for (const alias of entry.packages) {
    try {
      const module = require(alias) as Ivm;
      const { version } = require(`${alias}/package.json`) as { version: string };
      return { module, pkg: { alias, version } };
    } catch (err) {
      failures.push(`${alias}: ${err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err)}`);
    }
  }
  throw new ModhostError("E_NODE_UNSUPPORTED", `no isolated-vm for Node ${nodeVersion} is installed (${failures.join("; ")}): npm installs only the release for the Node it runs under, so run npm install with this Node (supported: Node ${supported})`, {});
}

/** The isolated-vm release this process loaded (loading it if needed). */
export function isolatedVmPackage(): IsolatedVmPackage {
  loadIsolatedVm();
  if (ivmPackage === undefined) throw new ModhostError("E_INTERNAL", "isolated-vm loaded without a package record", {});
  return ivmPackage;
}

const ivm = loadIsolatedVm;

/** How a call into an isolate ended. Anything not listed here is rethrown as an engine bug. */
export type CallOutcome<T> =
  | { readonly kind: "ok"; readonly value: T }
  | { readonly kind: "threw"; readonly message: string; readonly stack?: string }
  // `starved`: cut by its wall timeout without having had its limit of CPU (sandbox/cpu-budget.ts).
  | { readonly kind: "timeout"; readonly starved?: boolean }
  | { readonly kind: "memory" }
  | { readonly kind: "disposed" };

/** A host function exposed to the isolate; it receives and returns copied primitives only. */
export type HostFunction = (...args: (string | number)[]) => string | undefined;

/** A function inside the isolate that the host can call. Stale after its isolate is disposed. */
export interface IsolateFunction {
  readonly generation: number;
  readonly ref: IvmTypes.Reference<(...args: unknown[]) => unknown>;
}

/** The handles of one loaded version's modules. */
export interface ModuleSet {
  release(): void;
}

let nextGeneration = 1;

/** One isolate with one context. The owner must call dispose(). */
export class IsolateHandle {
  readonly generation = nextGeneration++;
  readonly #isolate: IvmTypes.Isolate;
  readonly #context: IvmTypes.Context;
  readonly #held: { release(): void }[] = [];
  readonly #moduleSets = new Set<ModuleSet>();
  readonly #untrack = trackResource("isolate");
  #disposed = false;
  #profiler: IsolateProfiler | undefined;

  private constructor(isolate: IvmTypes.Isolate, context: IvmTypes.Context) {
    this.#isolate = isolate;
    this.#context = context;
  }

  /**
   * Creates an isolate whose CPU can be profiled line by line (V8's inspector, Profiler domain:
   * isolated-vm's own startCpuProfiler reports functions only, not lines). For throwaway runs
   * only (sandbox/timeout-locator.ts): the inspector session stays on the host side, and nothing
   * of it is reachable from the isolate. Undefined when this isolated-vm has no inspector.
   */
  static createProfiled(memoryMb: number): IsolateHandle | undefined {
    const { Isolate } = ivm();
    const isolate = new Isolate({ memoryLimit: Math.max(8, memoryMb), inspector: true });
    let handle: IsolateHandle | undefined;
    try {
      const context = isolate.createContextSync({ inspector: true });
      handle = new IsolateHandle(isolate, context);
      if (typeof isolate.createInspectorSession !== "function") {
        handle.dispose();
        return undefined;
      }
      handle.#profiler = new IsolateProfiler(isolate.createInspectorSession());
      return handle;
    } catch (err) {
      if (handle !== undefined) handle.dispose();
      else isolate.dispose();
      throw err;
    }
  }

  /**
   * Starts the profiler of an isolate made by createProfiled(), for the synchronous calls that
   * follow. V8's sampler samples the thread that started it, and an inspector message sent while
   * the isolate is idle runs on one of isolated-vm's threads, whereas synchronous calls run on
   * this one. So the messages are sent from inside a call on this thread (a host callback): they
   * run as an interrupt of that call, here. Their answers are not waited for.
   */
  startProfiler(): void {
    const profiler = this.#profiler;
    if (profiler === undefined || this.disposed) return;
    const start = this.callback(() => {
      profiler.sendStart();
      return undefined;
    });
    // The loop gives V8 the stack checks where the interrupt runs (else the next call runs it, also here).
    this.#context.evalClosureSync("$0(); let i = 0; while (i < 1000) i++;", [start], { timeout: 1000 });
  }

  /** Stops the profiler and returns what it sampled. */
  async stopProfiler(): Promise<LineProfile> {
    if (this.#profiler === undefined || this.disposed) return EMPTY_PROFILE;
    return this.#profiler.stop();
  }

  /**
   * Creates an isolate with a memory limit (MB, at least 8) and an empty context. It compiles its
   * optimized code on its own thread (sandbox/isolate-compile-mode.ts).
   */
  static create(memoryMb: number): IsolateHandle {
    const { Isolate } = ivm();
    const isolate = withSynchronousRecompilation(() => new Isolate({ memoryLimit: Math.max(8, memoryMb) }));
    try {
      const context = isolate.createContextSync();
      return new IsolateHandle(isolate, context);
    } catch (err) {
      isolate.dispose();
      throw err;
    }
  }

  get disposed(): boolean {
    return this.#disposed || this.#isolate.isDisposed;
  }

  /** Runs a script; returns References to the named functions of the object it evaluates to. */
  runScriptForFunctions<Name extends string>(
    code: string,
    filename: string,
    names: readonly Name[],
    timeoutMs: number,
  ): CallOutcome<Record<Name, IsolateFunction>> {
    return this.#guard(() => {
      const script = this.#isolate.compileScriptSync(code, { filename });
      this.#held.push(script);
      // The wall timeout follows the CPU the thread gets (sandbox/cpu-budget.ts).
      const api = script.runSync(this.#context, { reference: true, timeout: threadBudget().begin(timeoutMs) }) as IvmTypes.Reference<Record<string, unknown>>;
      this.#held.push(api);
      const out = {} as Record<Name, IsolateFunction>;
      for (const name of names) {
        const ref = api.getSync(name, { reference: true }) as IvmTypes.Reference<(...args: unknown[]) => unknown>;
        this.#held.push(ref);
        out[name] = { generation: this.generation, ref };
      }
      return out;
    });
  }

  /**
   * Compiles, links and evaluates ES modules from `rootPath`. `resolve(specifier, referrerPath)`
   * returns the path of the module to link or a refusal; the linker resolves nothing else. The
   * returned set releases the modules' handles (after a newer version replaced them).
   */
  loadModules(
    sources: readonly { readonly path: string; readonly code: string }[],
    rootPath: string,
    resolve: (specifier: string, referrerPath: string) => string | { refused: string },
    timeoutMs: number,
  ): CallOutcome<ModuleSet> {
    const modules: IvmTypes.Module[] = [];
    const set: ModuleSet = {
      release: () => {
        this.#moduleSets.delete(set);
        if (!this.disposed) for (const module of modules.splice(0)) module.release();
      },
    };
    this.#moduleSets.add(set);
    const outcome = this.#guard(() => {
      const byPath = new Map<string, IvmTypes.Module>();
      const pathOf = new Map<IvmTypes.Module, string>();
      for (const source of sources) {
        const module = this.#isolate.compileModuleSync(source.code, { filename: source.path });
        modules.push(module);
        byPath.set(source.path, module);
        pathOf.set(module, source.path);
      }
      const root = byPath.get(rootPath);
      if (root === undefined) throw new Error(`no module ${rootPath}`);
      root.instantiateSync(this.#context, (specifier, referrer) => {
        const target = resolve(specifier, pathOf.get(referrer) ?? "");
        if (typeof target !== "string") throw new Error(target.refused);
        const module = byPath.get(target);
        if (module === undefined) throw new Error(`cannot resolve ${specifier}`);
        return module;
      });
      root.evaluateSync({ timeout: threadBudget().begin(timeoutMs) });
      return set;
    });
    if (outcome.kind !== "ok") set.release();
    return outcome;
  }

  /** Wraps a host function so the isolate can call it synchronously. */
  callback(fn: HostFunction): IvmTypes.Callback {
    return new (ivm().Callback)(fn);
  }

  /** Calls a function in this isolate with primitive or callback arguments. */
  call(fn: IsolateFunction, args: readonly unknown[], timeoutMs: number): CallOutcome<string> {
    if (fn.generation !== this.generation) {
      throw new Error(`stale isolate function: generation ${fn.generation}, isolate ${this.generation}`);
    }
    return this.#guard(() => {
      // Arguments are strings, numbers and Callbacks, which cross as they are: no copy option needed.
      const value = fn.ref.applySync(undefined, args as never[], { timeout: threadBudget().begin(timeoutMs) });
      return value === undefined ? "" : String(value);
    });
  }

  /** Heap figures as V8 counts them (heap plus externally allocated buffers). */
  heap(): { usedBytes: number; limitBytes: number } | undefined {
    if (this.disposed) return undefined;
    const stats = this.#isolate.getHeapStatisticsSync();
    return { usedBytes: stats.used_heap_size + stats.externally_allocated_size, limitBytes: stats.heap_size_limit };
  }

  /** CPU time this isolate has used, in nanoseconds. */
  cpuTimeNs(): bigint {
    return this.disposed ? 0n : this.#isolate.cpuTime;
  }

  /** Releases every handle and the isolate. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#untrack();
    // The session goes before its isolate: disposed after it, it never returns.
    this.#profiler?.dispose();
    this.#profiler = undefined;
    for (const set of [...this.#moduleSets]) set.release();
    if (!this.#isolate.isDisposed) {
      for (const handle of this.#held.splice(0)) {
        try {
          handle.release();
        } catch {
          // A handle from a disposed isolate cannot be released; disposing the isolate frees it.
        }
      }
      this.#context.release();
      this.#isolate.dispose();
    }
    this.#held.length = 0;
  }

  #guard<T>(fn: () => T): CallOutcome<T> {
    if (this.disposed) return { kind: "disposed" };
    try {
      return { kind: "ok", value: fn() };
    } catch (err) {
      return classify(err, this.#isolate);
    }
  }
}

/** Maps an isolated-vm failure to an outcome; rethrows anything unrecognised. */
function classify(err: unknown, isolate: IvmTypes.Isolate): CallOutcome<never> {
  const message = err instanceof Error ? err.message : String(err);
  // The only way an isolate is disposed during a synchronous call is its memory limit.
  if (isolate.isDisposed) return { kind: "memory" };
  // A cut call is judged by the CPU it got (sandbox/cpu-budget.ts).
  if (/Script execution timed out/i.test(message)) return threadBudget().judgeCut() === "starved" ? { kind: "timeout", starved: true } : { kind: "timeout" };
  if (/Isolate is disposed/i.test(message)) return { kind: "disposed" };
  const stack = err instanceof Error && typeof err.stack === "string" ? isolateFrames(err.stack) : undefined;
  return stack ? { kind: "threw", message: sanitize(message), stack } : { kind: "threw", message: sanitize(message) };
}

/** The frames of a stack that are inside the isolate (mod files), without any host frame. */
function isolateFrames(stack: string): string | undefined {
  const frames = stack.split("\n").filter((line) => /^\s*at /.test(line) && !/(file:\/\/|node:|\(\/|at \/|<isolated-vm)/.test(line));
  return frames.length > 0 ? frames.join("\n") : undefined;
}

/** Strips host file paths from a message that crosses to a mod author. */
function sanitize(message: string): string {
  return message.replace(/(?:file:\/\/)?\/[^\s:()]+\.(?:js|mjs|cjs|ts)(?::\d+)*/g, "<host>");
}

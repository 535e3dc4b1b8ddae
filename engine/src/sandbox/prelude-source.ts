import { readFileSync } from "node:fs";
import type { PreludeApi } from "../../runtime/prelude-api.js";
import { packagePath } from "../util/package-path.js";
import type { CallOutcome, IsolateFunction, IsolateHandle } from "./ivm.js";

let cached: string | undefined;

/** The compiled in-isolate prelude (engine/runtime/prelude.ts), read once. */
export function preludeSource(): string {
  cached ??= readFileSync(packagePath("dist/runtime/prelude.js"), "utf8");
  return cached;
}

/**
 * Every function of the prelude's API, once: the compiler holds this object to PreludeApi's keys
 * (one missing or extra is an error), so the host keeps a Reference to exactly what the prelude has.
 */
const PRELUDE_FUNCTION_SET: { readonly [K in keyof PreludeApi]: true } = {
  boot: true,
  stage: true,
  describe: true,
  activate: true,
  abort: true,
  migrateInPlace: true,
  initState: true,
  migrateState: true,
  exportState: true,
  importState: true,
  dispatch: true,
  collect: true,
  sliceFinished: true,
};

/** Names of the prelude API functions the host keeps References to. */
export const PRELUDE_FUNCTIONS = Object.keys(PRELUDE_FUNCTION_SET) as readonly (keyof PreludeApi)[];

/** The host's References to the prelude's API functions. */
export type PreludeHandles = { readonly [K in keyof PreludeApi]: IsolateFunction };

/** What the host passes for an argument: a host callback where the prelude takes a function. */
type HostArg<A> = A extends (...args: never[]) => unknown ? ReturnType<IsolateHandle["callback"]> : A;
type HostArgs<P extends readonly unknown[]> = { readonly [I in keyof P]: HostArg<P[I]> };

/** Calls one function of the prelude's API, with its arguments and its reply typed by PreludeApi. */
export function callPrelude<K extends keyof PreludeApi>(
  isolate: IsolateHandle,
  api: PreludeHandles,
  name: K,
  args: HostArgs<Parameters<PreludeApi[K]>>,
  timeoutMs: number,
): CallOutcome<ReturnType<PreludeApi[K]>> {
  // The isolate answers text (or "" for undefined); PreludeApi says which text each function answers.
  return isolate.call(api[name], args as readonly unknown[], timeoutMs) as CallOutcome<ReturnType<PreludeApi[K]>>;
}

/** The SDK's runtime part as the isolate sees `@modhost/sdk`: `defineMod` is an identity. */
export const SDK_MODULE_SOURCE = `export function defineMod(definition) { return definition; }\n`;

/**
 * Hands the prelude's registration function to the boot module, then removes it from the global.
 * `name` is random per staging, so mod code can neither predict nor pin it.
 */
export function internalModuleSource(name: string): string {
  return `const register = globalThis[${JSON.stringify(name)}];\n` + `delete globalThis[${JSON.stringify(name)}];\n` + `export { register };\n`;
}

/**
 * The root module: imports the internal module first, so the global is clean before mod code runs.
 * It reads the entry's default export off the namespace, so an entry without one registers
 * `undefined` and describe() reports E_MOD_DEFINITION (a named import would fail to link instead,
 * with only V8's message to tell why).
 */
export function bootModuleSource(entryPath: string): string {
  return `import { register } from "modhost:internal";\nimport * as entry from ${JSON.stringify(entryPath)};\nregister(entry.default);\n`;
}

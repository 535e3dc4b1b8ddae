import { readFileSync } from "node:fs";
import { packagePath } from "../util/package-path.js";

let cached: string | undefined;

/** The compiled in-isolate prelude (engine/runtime/prelude.ts), read once. */
export function preludeSource(): string {
  cached ??= readFileSync(packagePath("dist/runtime/prelude.js"), "utf8");
  return cached;
}

/** Names of the prelude API functions the host keeps References to. */
export const PRELUDE_FUNCTIONS = [
  "boot",
  "stage",
  "describe",
  "activate",
  "abort",
  "migrateInPlace",
  "initState",
  "migrateState",
  "exportState",
  "importState",
  "dispatch",
  "collect",
  "sliceFinished",
] as const;

/** The SDK's runtime part as the isolate sees `@modhost/sdk`: `defineMod` is an identity. */
export const SDK_MODULE_SOURCE = `export function defineMod(definition) { return definition; }\n`;

/**
 * Hands the prelude's registration function to the boot module, then removes it from the global.
 * `name` is random per staging, so mod code can neither predict nor pin it.
 */
export function internalModuleSource(name: string): string {
  return `const register = globalThis[${JSON.stringify(name)}];\n` + `delete globalThis[${JSON.stringify(name)}];\n` + `export { register };\n`;
}

/** The root module: imports the internal module first, so the global is clean before mod code runs. */
export function bootModuleSource(entryPath: string): string {
  return `import { register } from "modhost:internal";\nimport definition from ${JSON.stringify(entryPath)};\nregister(definition);\n`;
}

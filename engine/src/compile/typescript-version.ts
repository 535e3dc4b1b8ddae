import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

let version: string | undefined;

/**
 * The version of the TypeScript package `loadTypeScript()` loads, read from its package.json
 * without loading the compiler: a cold start whose files all come from the disk cache never pays
 * the compiler's ~0.3 s load. Resolved from this folder, as `loadTypeScript` resolves it, so both
 * name the same package.
 */
export function installedTypeScriptVersion(): string {
  if (version === undefined) {
    const file = createRequire(import.meta.url).resolve("typescript/package.json");
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { version?: unknown };
    if (typeof pkg.version !== "string") throw new Error(`${file} has no version`);
    version = pkg.version;
  }
  return version;
}

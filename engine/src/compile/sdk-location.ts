import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, parse } from "node:path";
import { fileURLToPath } from "node:url";
import { SDK_SPECIFIER } from "./resolve-mod-specifier.js";

/** Where the installed `@modhost/sdk` package is and what it declares. */
export interface SdkLocation {
  /** Absolute path of the package folder (the one holding its package.json). */
  readonly packageDir: string;
  /** Absolute path of the SDK's declaration file, e.g. `.../scripts-sdk/dist/index.d.ts` (`locateSdk` checks it exists). */
  readonly typesPath: string;
  /** The package's `version` field. */
  readonly version: string;
}

interface SdkPackageJson {
  readonly name?: unknown;
  readonly version?: unknown;
  readonly types?: unknown;
  readonly exports?: unknown;
}

/**
 * Finds the `@modhost/sdk` package and checks that its declaration file is built (see
 * `locateSdkPackage`). Throws an Error naming what was tried, or saying to build the SDK.
 */
export function locateSdk(from: string = import.meta.url): SdkLocation {
  const location = locateSdkPackage(from);
  if (!existsSync(location.typesPath)) {
    throw new Error(`the "${SDK_SPECIFIER}" declaration file ${location.typesPath} does not exist: build the SDK first (npm run build)`);
  }
  return location;
}

/**
 * Finds the `@modhost/sdk` package: first as Node would resolve it from `from` (default: this
 * module; the workspace link in node_modules, or an installed dependency), then by walking up to
 * a folder that holds `scripts-sdk/package.json` (the repository layout), so it works from
 * `engine/src` under a test runner as well as from `engine/dist`. `typesPath` may not exist yet
 * (an unbuilt SDK). Throws an Error naming what was tried when the package is not found.
 */
export function locateSdkPackage(from: string = import.meta.url): SdkLocation {
  const tried: string[] = [];
  const fromNode = packageDirFromNodeResolution(from, tried);
  if (fromNode !== undefined) return describe(fromNode);

  const start = from.startsWith("file:") ? dirname(fileURLToPath(from)) : dirname(from);
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, "scripts-sdk");
    tried.push(candidate);
    if (isSdkPackage(candidate)) return describe(candidate);
    if (dir === parse(dir).root) break;
  }
  throw new Error(`cannot find the "${SDK_SPECIFIER}" package (looked in ${tried.join(", ")})`);
}

function packageDirFromNodeResolution(from: string, tried: string[]): string | undefined {
  let entry: string;
  try {
    entry = createRequire(from).resolve(SDK_SPECIFIER);
  } catch (error) {
    // Only "not installed here" sends us to the fallback; anything else is a real failure.
    if (isNodeError(error) && error.code === "MODULE_NOT_FOUND") {
      tried.push(`node resolution of "${SDK_SPECIFIER}" from ${from}`);
      return undefined;
    }
    throw error;
  }
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    if (isSdkPackage(dir)) return dir;
    if (dir === parse(dir).root) break;
  }
  tried.push(`the package folder above ${entry}`);
  return undefined;
}

function readPackageJson(dir: string): SdkPackageJson | undefined {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as SdkPackageJson;
}

function isSdkPackage(dir: string): boolean {
  return readPackageJson(dir)?.name === SDK_SPECIFIER;
}

function describe(packageDir: string): SdkLocation {
  const pkg = readPackageJson(packageDir) ?? {};
  const typesPath = join(packageDir, typesField(pkg));
  return { packageDir, typesPath, version: typeof pkg.version === "string" ? pkg.version : "0.0.0" };
}

// `exports["."].types` wins over the legacy `types` field, as it does for TypeScript itself.
function typesField(pkg: SdkPackageJson): string {
  const exports = pkg.exports;
  if (typeof exports === "object" && exports !== null) {
    const root = (exports as Record<string, unknown>)["."];
    if (typeof root === "object" && root !== null) {
      const types = (root as Record<string, unknown>)["types"];
      if (typeof types === "string") return types;
    }
  }
  return typeof pkg.types === "string" ? pkg.types : "index.d.ts";
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}

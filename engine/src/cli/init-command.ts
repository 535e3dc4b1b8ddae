import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, join, relative, resolve, sep } from "node:path";
import { locateSdk } from "../compile/sdk-location.js";
import { messageOf } from "../errors/modhost-error.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput } from "./cli-output.js";
import { EXIT_CODES } from "./exit-codes.js";
import { scaffoldFiles, type ScaffoldSetup } from "./mod-scaffold.js";

const FLAGS = { name: { type: "string" }, packages: { type: "string" }, json: { type: "boolean" } } as const;
/** This modhost's version (engine/package.json, two folders above dist/cli/). */
const MODHOST_VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Help for `modhost init --help`. */
export const INIT_HELP = [
  "Writes mod.json, main.ts (a defineMod counter), main.test.ts (runs the mod in a real sandbox),",
  "tsconfig.json (the sandbox's environment, wired to the @modhost/sdk types), package.json and",
  ".gitignore into a new or empty folder.",
  "",
  "Options:",
  "  --name <name>        the mod's name (default: the folder's name, lowercased)",
  "  --packages <dir>     a folder of tarballs made by `npm run pack` in the modhost repository",
  "                       (modhost-<v>.tgz, modhost-sdk-<v>.tgz): package.json depends on them",
  "                       (file:), so `npm install` works before modhost is on a registry",
  "  --json               print { dir, name, files, packages? }",
].join("\n");

/** `modhost init <dir> [--name <name>] [--packages <dir>]`: scaffolds a mod in a new or empty folder. */
export async function initCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("init", args, FLAGS, { min: 1, max: 1, names: "the folder to create the mod in" });
  const out = cliOutput(values.json === true);
  const shown = positionals[0] as string;
  const dir = resolve(shown);
  const name = values.name ?? nameFromFolder(basename(dir));
  if (!NAME.test(name)) throw usageError(`modhost init: ${JSON.stringify(name)} cannot be a mod name (1-64 lowercase letters, digits, ".", "_", "-"); give one with --name`);

  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw usageError(`modhost init: ${shown}: ${messageOf(err)}`);
  });
  if (existing.length > 0) throw usageError(`modhost init: ${shown} is not empty; give a new or empty folder`);
  // Before the folder is made: a bad --packages leaves nothing behind.
  const setup = sdkSetup(dir, name, values.packages);
  await mkdir(dir, { recursive: true });

  const files = scaffoldFiles(setup);
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text, { flag: "wx" });

  if (out.json) {
    out.data({ dir, name, files: Object.keys(files), ...(setup.packages !== undefined ? { packages: setup.packages } : {}) });
    return EXIT_CODES.ok;
  }
  const s = out.style;
  out.line(`${s.green("✓")} created mod ${s.bold(name)} in ${shown}: ${Object.keys(files).join(", ")}`);
  out.line("");
  out.line("next:");
  out.line(`  modhost check ${shown}       compile, type-check and safety-check it`);
  out.line(`  modhost dev ${shown}         run it and hot-swap every save`);
  out.line(`  cd ${shown} && npm install && npm test`);
  if (setup.packages !== undefined) out.line(s.gray(`(modhost and @modhost/sdk come from ${setup.packages.modhost.slice("file:".length)} and ${setup.packages.sdk.slice("file:".length)})`));
  else if (!setup.installed) {
    out.line(s.gray("(modhost and @modhost/sdk are not on a registry yet: run `npm run pack` in the modhost repository"));
    out.line(s.gray(" and scaffold with --packages <its packages folder>, or edit package.json's devDependencies)"));
  }
  return EXIT_CODES.ok;
}

/** A mod name from a folder name: lowercased, other characters turned into "-". */
function nameFromFolder(folder: string): string {
  return folder
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 64);
}

/**
 * How the scaffold reaches the SDK: through node resolution from the mod folder when the SDK is
 * installed there (or above); from the tarballs of `--packages`, which `npm install` installs;
 * else through a tsconfig `paths` mapping to the SDK this modhost uses (so the editor and tsc see
 * its types before anything is installed).
 */
function sdkSetup(dir: string, name: string, packagesDir: string | undefined): ScaffoldSetup & { readonly installed: boolean } {
  const sdk = locateSdk();
  const testingTypes = join(sdk.packageDir, testingTypesPath(sdk.packageDir) ?? "dist/testing/index.d.ts");
  const harness = testingTypesPath(sdk.packageDir) !== undefined && existsSync(testingTypes);
  const matchers = harness && exportsEntry(sdk.packageDir, "./testing/vitest");
  let resolvable = false;
  try {
    createRequire(join(dir, "package.json")).resolve("@modhost/sdk");
    resolvable = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
  }
  const rel = (path: string): string => {
    const r = relative(dir, path).split(sep).join("/");
    return r.startsWith(".") ? r : `./${r}`;
  };
  const packages = packagesDir !== undefined ? tarballs(resolve(packagesDir)) : undefined;
  const mapped = resolvable || packages !== undefined;
  return {
    name,
    sdkTypes: mapped ? undefined : rel(sdk.typesPath),
    sdkTestingTypes: mapped || !harness ? undefined : rel(testingTypes),
    harness,
    matchers,
    packages,
    installed: resolvable,
  };
}

/**
 * `file:` specs of the modhost and @modhost/sdk tarballs in `dir` (the ones of this modhost's
 * version when there are several); a usage error when they are not there.
 */
function tarballs(dir: string): { modhost: string; sdk: string } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw usageError(`modhost init: --packages ${dir}: ${messageOf(err)}`);
  }
  const pick = (pattern: RegExp, what: string): string => {
    const found = names.filter((n) => pattern.test(n)).sort();
    const chosen = found.find((n) => n.endsWith(`-${MODHOST_VERSION}.tgz`)) ?? found.at(-1);
    if (chosen === undefined) throw usageError(`modhost init: --packages ${dir} holds no ${what} tarball; make them with \`npm run pack\` in the modhost repository`);
    return `file:${join(dir, chosen)}`;
  };
  return { modhost: pick(/^modhost-\d[^/]*\.tgz$/, "modhost-<version>.tgz"), sdk: pick(/^modhost-sdk-\d[^/]*\.tgz$/, "modhost-sdk-<version>.tgz") };
}

/** Does the SDK's package.json export `entry`? */
function exportsEntry(packageDir: string, entry: string): boolean {
  const pkg = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { exports?: Record<string, unknown> };
  return pkg.exports?.[entry] !== undefined;
}

/** The declaration file of the SDK's `./testing` export, if the package has one. */
function testingTypesPath(packageDir: string): string | undefined {
  const pkg = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { exports?: Record<string, unknown> };
  const entry = pkg.exports?.["./testing"];
  if (typeof entry !== "object" || entry === null) return undefined;
  const types = (entry as Record<string, unknown>).types;
  return typeof types === "string" ? types : undefined;
}

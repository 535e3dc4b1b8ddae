import { readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { diffVersions, type SemanticDiff } from "../analysis/semantic-diff.js";
import type { Diagnostic } from "../errors/diagnostic.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { resolveOptions, type ResolvedOptions } from "../host/host-options.js";
import { prepareMod } from "../host/mod-loader.js";
import type { ModVersion } from "../compile/mod-version.js";
import type { SwapChange } from "../model/swap-report.js";
import { VersionTypeCheck } from "../host/version-type-check.js";
import { parseManifest } from "../manifest/mod-manifest.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput, type CliOutput } from "./cli-output.js";
import { codeFrame } from "./code-frame.js";
import { formatErrorHint } from "./error-hint-line.js";
import { modTsconfigTypes } from "../compile/mod-tsconfig-types.js";
import { EXIT_CODES } from "./exit-codes.js";
import { formatErrorLine } from "./report-format.js";

const FLAGS = {
  against: { type: "string" },
  types: { type: "string", multiple: true },
  json: { type: "boolean" },
} as const;

/** Help for `modhost check --help`. */
export const CHECK_HELP = [
  "Runs what a load or reload runs before anything is swapped: mod.json validation, compile, the",
  "static safety rules, and the type-check against @modhost/sdk and the game's declarations: --types,",
  "and the .d.ts files the mod's tsconfig.json (or the nearest one above it) names in \"files\",",
  "\"include\", compilerOptions.types or \"modhost\": { \"types\": [...] }. Diagnostics print as",
  "file:line:col code message with a code frame and a fix line.",
  "",
  "Options:",
  "  --against <dir>        also diff against that version (the one running) and say what a swap",
  "                         would need: noop, swap, migrate-required (refused) or approval-required",
  "  --types <file.d.ts>    the game's declarations (ModEvents, ModCapabilities) (repeatable),",
  "                         added to those the tsconfig names",
  "  --json                 print { ok, mod, diagnostics, swap? } (lines and columns 1-based)",
  "",
  "Permissions and limits are checked for form only: which ones a server grants is its operator's call.",
  "Exit codes: 0 no errors (warnings allowed), 1 errors or a swap that would be refused, 2 usage error.",
].join("\n");

/** What a swap from the --against version to this one would take. */
export type SwapPlanKind = "noop" | "swap" | "migrate-required" | "approval-required";

/** The --json output of check. */
export interface CheckOutput {
  readonly ok: boolean;
  readonly mod: { readonly name: string; readonly version: string; readonly dir: string };
  readonly diagnostics: readonly Diagnostic[];
  readonly swap?: {
    readonly kind: SwapPlanKind;
    readonly from: string;
    readonly to: string;
    readonly migrate: boolean;
    readonly changes: readonly SwapChange[];
    readonly stateShapeReasons: readonly string[];
    readonly permissionsAdded: readonly string[];
    readonly limitsRaised: readonly string[];
  };
}

/** `modhost check <modDir> [--against <dir>] [--types <f>] [--json]`. */
export async function checkCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("check", args, FLAGS, { min: 1, max: 1, names: "the mod folder to check" });
  const out = cliOutput(values.json === true);
  const shown = positionals[0] as string;
  const dir = await modFolder(shown, "check");
  const given = await typeFiles("check", values.types ?? []);
  // The game's declarations: --types, plus what the mod's tsconfig.json names (as the editor sees it).
  const fromTsconfig = await modTsconfigTypes(dir);
  const types = [...new Set([...given, ...fromTsconfig.types])];

  const { prepared, version, diagnostics, manifestVersion } = await gateMod(dir, types);
  for (const file of fromTsconfig.missing) {
    diagnostics.push({ code: "E_TYPE", severity: "warning", message: `${relative(dir, fromTsconfig.tsconfig ?? dir) || "tsconfig.json"} names ${relative(dir, file)}, which does not exist: the game's types in it are not checked` });
  }

  let swap: CheckOutput["swap"];
  if (values.against !== undefined && version !== undefined) {
    const againstDir = await modFolder(values.against, "check --against");
    const against = await prepareMod(againstDir, (await checkOptions(againstDir, types)).options);
    if (!against.ok) throw usageError(`modhost check: --against ${values.against} is not a loadable mod: ${formatErrorLine(against.error, out.errStyle)}`);
    const previous = against.version;
    if (previous.manifest.name !== version.manifest.name) {
      diagnostics.push({ code: "E_MANIFEST_INVALID", severity: "error", message: `the mod's name changed from "${previous.manifest.name}" to "${version.manifest.name}"; a renamed mod is a new mod`, file: "mod.json", field: "name" });
    } else {
      const diff = await diffVersions(previous, version);
      swap = {
        kind: planKind(diff),
        from: previous.manifest.version,
        to: version.manifest.version,
        migrate: diff.stateShapeChanged && diff.newHasMigrate,
        changes: diff.changes,
        stateShapeReasons: diff.stateShapeReasons,
        permissionsAdded: diff.permissionsAdded,
        limitsRaised: diff.limitsRaised,
      };
    }
  }

  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const ok = errors === 0 && swap?.kind !== "migrate-required";
  const name = version?.manifest.name ?? (prepared.ok ? prepared.version.manifest.name : prepared.name);
  const result: CheckOutput = { ok, mod: { name, version: version?.manifest.version ?? manifestVersion, dir }, diagnostics, ...(swap !== undefined ? { swap } : {}) };
  if (!out.json && fromTsconfig.types.length > 0) out.note(out.errStyle.gray(`game types from ${relative(process.cwd(), fromTsconfig.tsconfig ?? "") || "tsconfig.json"}: ${fromTsconfig.types.map((t) => relative(process.cwd(), t)).join(", ")}`));
  if (out.json) out.data(result);
  else printCheck(result, shown, version, out);
  return ok ? EXIT_CODES.ok : EXIT_CODES.failed;
}

/** What the check gate found for one mod folder. */
export interface GateResult {
  readonly prepared: Awaited<ReturnType<typeof prepareMod>>;
  /** The compiled version, when it compiled. */
  readonly version: ModVersion | undefined;
  /** Every finding: manifest, compile, safety rules, type-check (errors and warnings). */
  readonly diagnostics: Diagnostic[];
  readonly manifestVersion: string;
}

/**
 * The gate `check` (and `pack`) run on a mod folder: mod.json, compile, safety rules and the
 * type-check, with the permissions the manifest asks for granted (grants are the operator's call).
 */
export async function gateMod(dir: string, types: readonly string[] = []): Promise<GateResult> {
  const { options, manifestVersion } = await checkOptions(dir, types);
  const prepared = await prepareMod(dir, options);
  const diagnostics: Diagnostic[] = [];
  let version: ModVersion | undefined;
  if (!prepared.ok) {
    diagnostics.push(...(prepared.diagnostics.length > 0 ? prepared.diagnostics : [toDiagnostic(prepared.error)]));
  } else {
    version = prepared.version;
    diagnostics.push(...version.diagnostics);
    const checker = new VersionTypeCheck({ modTypes: types, budgetMs: options.typecheckBudgetMs, memoryMb: options.typecheckMemoryMb });
    try {
      const checked = await checker.check(version);
      const typeErrors = checked.errors.map(toDiagnostic);
      diagnostics.push(...(types.length === 0 ? collapseMissingGameTypes(typeErrors) : typeErrors));
    } catch (err) {
      // Over budget or too complex: a finding about the mod, not a crash of the command.
      if (!(err instanceof ModhostError)) throw err;
      diagnostics.push(toDiagnostic(err.toInfo()));
    } finally {
      await checker.close();
    }
  }
  return { prepared, version, diagnostics, manifestVersion };
}

// Errors a mod gets when the game's declarations are not loaded: an SDK type the game declares is
// missing (TS2305, TS2614), a capability name is not in ModCapabilities (the constraint is `never`,
// TS2344), a payload is `unknown` because ModEvents is empty (TS18046).
const MISSING_GAME_TYPES = [/"@modhost\/sdk"' has no exported member/, /does not satisfy the constraint 'never'/, /is of type 'unknown'\. \(TS18046\)/];

/**
 * With no game types given, type errors that show the game's declarations are missing are folded
 * into one diagnostic that says how to give them: the rest would be noise (one per handler).
 */
function collapseMissingGameTypes(errors: Diagnostic[]): Diagnostic[] {
  const signals = errors.filter((d) => MISSING_GAME_TYPES.some((re) => re.test(d.message)));
  if (signals.length === 0) return errors;
  const first = signals[0] as Diagnostic;
  return [
    {
      ...first,
      message: `the game's types look missing (${errors.length} type error${errors.length > 1 ? "s" : ""}, first: ${first.message}): pass --types <game.d.ts>, or add the game's .d.ts to the mod's tsconfig.json ("files", or "modhost": { "types": ["../game.d.ts"] })`,
    },
  ];
}

/** The --types files as absolute paths; a usage error for one that is not an existing .d.ts file. */
export async function typeFiles(command: string, given: readonly string[]): Promise<string[]> {
  const types = given.map((t) => resolve(t));
  for (const file of types) {
    if (!file.endsWith(".d.ts")) throw usageError(`modhost ${command}: --types must name .d.ts files, got ${file}`);
    await stat(file).catch((err: unknown) => {
      throw usageError(`modhost ${command}: --types ${file}: ${messageOf(err)}`);
    });
  }
  return types;
}

/** The folder `path` as an absolute path, or a usage error if it is not a folder. */
export async function modFolder(path: string, command: string): Promise<string> {
  const dir = resolve(path);
  const info = await stat(dir).catch((err: unknown) => {
    throw usageError(`modhost ${command}: ${path}: ${messageOf(err)}`);
  });
  if (!info.isDirectory()) throw usageError(`modhost ${command}: ${path} is not a folder`);
  return dir;
}

/**
 * Host options for checking one mod outside any server: the permissions its manifest asks for are
 * offered and granted, and the caps are high, so that only the mod itself is judged.
 */
async function checkOptions(dir: string, types: readonly string[]): Promise<{ options: ResolvedOptions; manifestVersion: string }> {
  // A mod.json that cannot be read or parsed is reported by prepareMod, with its position.
  const text = await readFile(join(dir, "mod.json"), "utf8").catch(() => undefined);
  const parsed = text === undefined ? undefined : parseManifest(text);
  const permissions = parsed?.ok === true ? parsed.manifest.permissions : [];
  const name = parsed?.ok === true ? parsed.manifest.name : "";
  const options = resolveOptions({
    modsDir: dirname(dir),
    capabilities: Object.fromEntries(permissions.map((p) => [p, () => undefined])),
    grants: { [name]: permissions },
    limits: { memoryMb: 1 << 20, callTimeoutMs: 3_600_000 },
    typecheck: "block",
    modTypes: types,
  });
  return { options, manifestVersion: parsed?.ok === true ? parsed.manifest.version : "" };
}

function planKind(diff: SemanticDiff): SwapPlanKind {
  if (diff.noop) return "noop";
  if (diff.stateShapeChanged && !diff.newHasMigrate) return "migrate-required";
  if (diff.permissionsAdded.length > 0 || diff.limitsRaised.length > 0) return "approval-required";
  return "swap";
}

function toDiagnostic(error: ErrorInfo): Diagnostic {
  return {
    code: error.code,
    severity: "error",
    message: error.message,
    ...(error.file !== undefined ? { file: error.file } : {}),
    ...(error.line !== undefined ? { line: error.line } : {}),
    ...(error.column !== undefined ? { column: error.column } : {}),
    ...(error.field !== undefined ? { field: error.field } : {}),
  };
}

function printCheck(result: CheckOutput, shown: string, version: ModVersion | undefined, out: CliOutput): void {
  const s = out.style;
  const prefix = `${shown.replace(/\/+$/, "")}/`.replace(/^\.\//, "");
  const source = (file: string): string | undefined => {
    const text = version?.files.get(file);
    if (text !== undefined) return text;
    try {
      return readFileSync(join(result.mod.dir, file), "utf8");
    } catch {
      return undefined; // no frame for a file that cannot be read; the diagnostic says why
    }
  };
  const hinted = new Set<string>();
  for (const d of result.diagnostics) {
    const line = formatErrorLine({ code: d.code as ErrorInfo["code"], message: d.message, ...pick(d) }, s, prefix);
    out.line(d.severity === "warning" ? line.replace(s.red(d.code), s.yellow(`${d.code} (warning)`)) : line);
    const text = d.file !== undefined ? source(d.file) : undefined;
    if (text !== undefined && d.line !== undefined) out.line(codeFrame(text, d.line, d.column ?? 0, s));
    // The fix once per code, under its first error: 35 type errors do not need 35 hints.
    if (!hinted.has(d.code)) {
      hinted.add(d.code);
      const hint = formatErrorHint(d.code, s);
      if (hint !== undefined) out.line(hint);
    }
  }
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = result.diagnostics.length - errors;
  const label = `${s.bold(result.mod.name)}${result.mod.version ? ` ${result.mod.version}` : ""}`;
  if (result.diagnostics.length > 0) out.line("");
  if (errors === 0) out.line(`${s.green("✓")} ${label}: compiles, type-checks and passes the safety rules${warnings > 0 ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : ""}`);
  else out.line(`${s.red("✗")} ${label}: ${errors} error${errors > 1 ? "s" : ""}${warnings > 0 ? `, ${warnings} warning${warnings > 1 ? "s" : ""}` : ""}`);
  const swap = result.swap;
  if (swap === undefined) return;
  const head = `against ${swap.from}:`;
  if (swap.kind === "noop") out.line(`${s.gray("=")} ${head} noop: no semantic change (formatting, comments, order); nothing would be swapped`);
  else if (swap.kind === "migrate-required") {
    out.line(`${s.red("✗")} ${head} migrate required: the state's shape changed (${swap.stateShapeReasons.join(", ")}) and this version has no migrate(old, fromVersion); the swap would be refused (E_MIGRATION_REQUIRED)`);
  } else if (swap.kind === "approval-required") {
    const why = [...(swap.permissionsAdded.length > 0 ? [`new permissions: ${swap.permissionsAdded.join(", ")}`] : []), ...(swap.limitsRaised.length > 0 ? [`raised limits: ${swap.limitsRaised.join(", ")}`] : [])];
    out.line(`${s.yellow("!")} ${head} approval required (${why.join("; ")}): held until the operator runs modhost approve ${result.mod.name}${swap.migrate ? "; then migrate() carries the state over" : ""}`);
  } else {
    out.line(`${s.green("✓")} ${head} swap${swap.migrate ? ` with migrate(): the state's shape changed (${swap.stateShapeReasons.join(", ")})` : ": code change, the state is handed over as it is"}`);
  }
  for (const change of swap.changes) out.line(`  ${change.kind === "added" ? s.green("+") : change.kind === "removed" ? s.red("-") : s.yellow("~")} ${change.path}`);
}

function pick(d: Diagnostic): Partial<ErrorInfo> {
  return {
    ...(d.file !== undefined ? { file: d.file } : {}),
    ...(d.line !== undefined ? { line: d.line } : {}),
    ...(d.column !== undefined ? { column: d.column } : {}),
    ...(d.field !== undefined ? { field: d.field } : {}),
  };
}

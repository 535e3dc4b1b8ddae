import type { Diagnostic } from "../errors/diagnostic.js";
import { describeValue, parseBoundedJson } from "../util/bounded-json.js";

/** A mod's manifest (mod.json) after validation. */
export interface ModManifest {
  readonly name: string;
  readonly version: string;
  /** Entry module, relative to the mod folder with forward slashes, e.g. "main.ts". */
  readonly entry: string;
  readonly permissions: readonly string[];
  readonly limits: { readonly memoryMb?: number; readonly callTimeoutMs?: number };
  readonly description?: string;
}

/** Either a manifest or the findings that stop it from loading. */
export type ManifestResult = { ok: true; manifest: ModManifest } | { ok: false; diagnostics: Diagnostic[] };

const FILE = "mod.json";
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// Semantic Versioning 2.0.0, as given by semver.org.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const PERMISSION = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const KNOWN_KEYS = new Set(["name", "version", "entry", "permissions", "limits", "description"]);
const LIMIT_KEYS = new Set(["memoryMb", "callTimeoutMs"]);

/** Largest mod.json, in characters (a real one is well under 2 KiB). */
export const MAX_MANIFEST_CHARS = 64 * 1024;
/** Most permissions a manifest may ask for. */
export const MAX_PERMISSIONS = 256;
/** Deepest nesting of arrays/objects in mod.json (a valid one has 2). */
const MAX_MANIFEST_DEPTH = 8;
/** Offenders of one kind named in diagnostics; the rest are counted in one more. */
const MAX_REPORTED = 5;

/**
 * Parses mod.json text. Every problem is reported as a diagnostic naming the field and, where the
 * field can be found in the text, its line. Linear in the text and bounded: the text is refused
 * over MAX_MANIFEST_CHARS or nested deeper than a manifest can be before it is parsed, permissions
 * are capped at MAX_PERMISSIONS, and at most a few offenders of each kind are named (so a hostile
 * manifest with 100k bad keys costs one pass, not 100k searches of the text).
 */
export function parseManifest(text: string): ManifestResult {
  const parsed = parseBoundedJson(text, { maxChars: MAX_MANIFEST_CHARS, maxDepth: MAX_MANIFEST_DEPTH });
  if (!parsed.ok) {
    if (parsed.problem === "syntax") return { ok: false, diagnostics: [jsonError(text, parsed.message, parsed.offset)] };
    const message = parsed.problem === "size" ? `mod.json is refused: ${parsed.message} (${MAX_MANIFEST_CHARS / 1024} KiB)` : `mod.json is refused: ${parsed.message}`;
    return { ok: false, diagnostics: [{ code: "E_MANIFEST_INVALID", severity: "error", message, file: FILE, ...(parsed.offset !== undefined ? position(text, parsed.offset) : { line: 1, column: 0 }) }] };
  }
  const raw = parsed.value;
  const problems: Diagnostic[] = [];
  const fail = (field: string, message: string): void => {
    problems.push({ code: "E_MANIFEST_INVALID", severity: "error", message, file: FILE, field, ...lineOf(text, field) });
  };
  /** Reports the first few offenders of one kind, then how many more there were. */
  const offenders = (what: string): { add: (field: string, message: () => string) => void; end: () => void } => {
    let count = 0;
    let firstField = "";
    return {
      add: (field, message) => {
        if (count++ < MAX_REPORTED) fail(field, message());
        if (count === 1) firstField = field;
      },
      end: () => {
        if (count > MAX_REPORTED) fail(firstField, `...and ${count - MAX_REPORTED} more ${what}`);
      },
    };
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, diagnostics: [{ code: "E_MANIFEST_INVALID", severity: "error", message: "mod.json must hold a JSON object", file: FILE, line: 1, column: 0 }] };
  }
  const obj = raw as Record<string, unknown>;
  const unknownKeys = offenders("unknown fields");
  for (const key of Object.keys(obj)) {
    if (!KNOWN_KEYS.has(key)) unknownKeys.add(key, () => `unknown field ${describeValue(key)} (allowed: ${[...KNOWN_KEYS].join(", ")})`);
  }
  unknownKeys.end();

  const { name, version, entry, permissions, limits, description } = obj;
  if (typeof name !== "string") fail("name", `"name" is required and must be a string`);
  else if (!NAME.test(name)) fail("name", `"name" must be 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit; got ${describeValue(name)}`);

  if (typeof version !== "string") fail("version", `"version" is required and must be a semver string like "1.0.0"`);
  else if (!SEMVER.test(version)) fail("version", `"version" must be a semantic version like "1.2.3"; got ${describeValue(version)}`);

  let entryPath = "main.ts";
  if (entry !== undefined) {
    if (typeof entry !== "string" || !entry.endsWith(".ts")) fail("entry", `"entry" must be the path of a .ts file in the mod folder`);
    else {
      const normalized = entry.replace(/^\.\//, "");
      if (normalized.startsWith("/") || normalized.split("/").includes("..") || normalized.includes("\\")) {
        fail("entry", `"entry" must stay inside the mod folder; got ${describeValue(entry)}`);
      } else entryPath = normalized;
    }
  }

  const perms = new Set<string>();
  if (permissions !== undefined) {
    if (!Array.isArray(permissions)) fail("permissions", `"permissions" must be an array of permission names`);
    else if (permissions.length > MAX_PERMISSIONS) fail("permissions", `"permissions" lists ${permissions.length} names; at most ${MAX_PERMISSIONS} are allowed`);
    else {
      const bad = offenders("bad permissions");
      permissions.forEach((p: unknown, i) => {
        if (typeof p !== "string" || !PERMISSION.test(p)) bad.add(`permissions[${i}]`, () => `permission names are identifiers like "broadcast" or "world.damage"; got ${describeValue(p)}`);
        else if (perms.has(p)) bad.add(`permissions[${i}]`, () => `permission "${p}" is listed twice`);
        else perms.add(p);
      });
      bad.end();
    }
  }

  const lim: { memoryMb?: number; callTimeoutMs?: number } = {};
  if (limits !== undefined) {
    if (typeof limits !== "object" || limits === null || Array.isArray(limits)) fail("limits", `"limits" must be an object like { "memoryMb": 32, "callTimeoutMs": 50 }`);
    else {
      const unknownLimits = offenders("unknown limits");
      for (const [key, value] of Object.entries(limits as Record<string, unknown>)) {
        if (!LIMIT_KEYS.has(key)) {
          unknownLimits.add(`limits.${key}`, () => `unknown limit ${describeValue(key)} (allowed: memoryMb, callTimeoutMs)`);
          continue;
        }
        const min = key === "memoryMb" ? 8 : 1;
        if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
          fail(`limits.${key}`, `"limits.${key}" must be a whole number of at least ${min}; got ${describeValue(value)}`);
        } else lim[key as "memoryMb" | "callTimeoutMs"] = value;
      }
      unknownLimits.end();
    }
  }
  if (description !== undefined && typeof description !== "string") fail("description", `"description" must be a string`);

  if (problems.length > 0) return { ok: false, diagnostics: problems };
  return {
    ok: true,
    manifest: {
      name: name as string,
      version: version as string,
      entry: entryPath,
      permissions: [...perms],
      limits: lim,
      ...(typeof description === "string" ? { description } : {}),
    },
  };
}

/** The line (1-based) and column of a top-level field's key in the text, when it can be found. */
function lineOf(text: string, field: string): { line?: number; column?: number } {
  const key = field.split(/[.[]/)[0] ?? field;
  const at = text.indexOf(`"${key}"`);
  return at < 0 ? {} : position(text, at);
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - (before.lastIndexOf("\n") + 1) };
}

function jsonError(text: string, message: string, offset: number | undefined): Diagnostic {
  const where = offset !== undefined ? position(text, offset) : {};
  return { code: "E_MANIFEST_INVALID", severity: "error", message: `mod.json is not valid JSON: ${message}`, file: FILE, ...where };
}

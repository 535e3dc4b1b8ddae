import type { Diagnostic } from "../errors/diagnostic.js";

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

/**
 * Parses mod.json text. Every problem is reported as a diagnostic naming the field and, where the
 * field can be found in the text, its line.
 */
export function parseManifest(text: string): ManifestResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, diagnostics: [jsonError(text, err)] };
  }
  const problems: Diagnostic[] = [];
  const fail = (field: string, message: string): void => {
    problems.push({ code: "E_MANIFEST_INVALID", severity: "error", message, file: FILE, field, ...lineOf(text, field) });
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, diagnostics: [{ code: "E_MANIFEST_INVALID", severity: "error", message: "mod.json must hold a JSON object", file: FILE, line: 1, column: 0 }] };
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!KNOWN_KEYS.has(key)) fail(key, `unknown field "${key}" (allowed: ${[...KNOWN_KEYS].join(", ")})`);
  }

  const { name, version, entry, permissions, limits, description } = obj;
  if (typeof name !== "string") fail("name", `"name" is required and must be a string`);
  else if (!NAME.test(name)) fail("name", `"name" must be 1-64 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit; got ${JSON.stringify(name)}`);

  if (typeof version !== "string") fail("version", `"version" is required and must be a semver string like "1.0.0"`);
  else if (!SEMVER.test(version)) fail("version", `"version" must be a semantic version like "1.2.3"; got ${JSON.stringify(version)}`);

  let entryPath = "main.ts";
  if (entry !== undefined) {
    if (typeof entry !== "string" || !entry.endsWith(".ts")) fail("entry", `"entry" must be the path of a .ts file in the mod folder`);
    else {
      const normalized = entry.replace(/^\.\//, "");
      if (normalized.startsWith("/") || normalized.split("/").includes("..") || normalized.includes("\\")) {
        fail("entry", `"entry" must stay inside the mod folder; got ${JSON.stringify(entry)}`);
      } else entryPath = normalized;
    }
  }

  const perms: string[] = [];
  if (permissions !== undefined) {
    if (!Array.isArray(permissions)) fail("permissions", `"permissions" must be an array of permission names`);
    else
      permissions.forEach((p: unknown, i) => {
        if (typeof p !== "string" || !PERMISSION.test(p)) fail(`permissions[${i}]`, `permission names are identifiers like "broadcast" or "world.damage"; got ${JSON.stringify(p)}`);
        else if (perms.includes(p)) fail(`permissions[${i}]`, `permission "${p}" is listed twice`);
        else perms.push(p);
      });
  }

  const lim: { memoryMb?: number; callTimeoutMs?: number } = {};
  if (limits !== undefined) {
    if (typeof limits !== "object" || limits === null || Array.isArray(limits)) fail("limits", `"limits" must be an object like { "memoryMb": 32, "callTimeoutMs": 50 }`);
    else {
      for (const [key, value] of Object.entries(limits as Record<string, unknown>)) {
        if (!LIMIT_KEYS.has(key)) {
          fail(`limits.${key}`, `unknown limit "${key}" (allowed: memoryMb, callTimeoutMs)`);
          continue;
        }
        const min = key === "memoryMb" ? 8 : 1;
        if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
          fail(`limits.${key}`, `"limits.${key}" must be a whole number of at least ${min}; got ${JSON.stringify(value)}`);
        } else lim[key as "memoryMb" | "callTimeoutMs"] = value;
      }
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
      permissions: perms,
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

function jsonError(text: string, err: unknown): Diagnostic {
  const message = err instanceof Error ? err.message : String(err);
  const at = /position (\d+)/.exec(message);
  const where = at ? position(text, Number(at[1])) : {};
  return { code: "E_MANIFEST_INVALID", severity: "error", message: `mod.json is not valid JSON: ${message}`, file: FILE, ...where };
}

import { access, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";

/** The project file's name: `modhost serve` and `modhost dev` look for it beside the mods folder. */
export const CONFIG_FILE = "modhost.config.json";

/** What a stubbed capability does in `serve` and `dev`: it answers `answer` and logs each call. */
export interface CapabilityStub {
  /** What every call answers (JSON data; default null). */
  readonly answer: unknown;
  /** Print each call (default true). Calls are recorded either way. */
  readonly log: boolean;
}

/** The event `dev` sends after every swap, to show its answer. */
export interface DevEmit {
  readonly event: string;
  readonly payload: unknown;
}

/** The game side of a standalone server: what modhost.config.json says, checked and resolved. */
export interface ProjectConfig {
  /** The file it came from (absolute). */
  readonly file: string;
  /** Capabilities the game offers, with their stub behaviour, by permission name. */
  readonly capabilities: Readonly<Record<string, CapabilityStub>>;
  /** Permissions granted to each mod, by mod name. */
  readonly grants: Readonly<Record<string, readonly string[]>>;
  /** The game's declarations (absolute paths of .d.ts files). */
  readonly types: readonly string[];
  /** Caps on every mod's limits (ModHostOptions.limits). */
  readonly limits: Readonly<Record<string, number>>;
  /** `dev`: the event to send after every swap. */
  readonly devEmit?: DevEmit;
}

const TOP_KEYS = ["$schema", "capabilities", "grants", "types", "limits", "dev"] as const;
const LIMIT_KEYS: Readonly<Record<string, number>> = { memoryMb: 8, callTimeoutMs: 1, capabilityTimeoutMs: 1, capabilityCallsPerEvent: 1, capabilityAnswerBytes: 1, capabilityBytesPerEvent: 1 };
const PERMISSION = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const MOD_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Finds the project file for a folder: `start/modhost.config.json`, then in each parent up to
 * `levels` folders up (serve starts at the mods folder and looks one up; dev starts at the mod's
 * folder and looks two up, so a file beside the mods folder serves both). Undefined if none.
 */
export async function findProjectConfig(start: string, levels: number): Promise<string | undefined> {
  let folder = resolve(start);
  for (let i = 0; i <= levels; i++) {
    const candidate = join(folder, CONFIG_FILE);
    const found = await access(candidate).then(
      () => true,
      () => false,
    );
    if (found) return candidate;
    const parent = dirname(folder);
    if (parent === folder) break;
    folder = parent;
  }
  return undefined;
}

/** Reads and strictly checks a project file; throws E_CONFIG_INVALID naming the file and the field. */
export async function readProjectConfig(file: string): Promise<ProjectConfig> {
  const path = resolve(file);
  const text = await readFile(path, "utf8").catch((err: unknown) => {
    throw new ModhostError("E_CONFIG_INVALID", `cannot read the project file: ${messageOf(err)}`, { file: path });
  });
  return parseProjectConfig(text, path);
}

/** Checks a project file's text (`file`: its absolute path, for messages and relative paths). */
export function parseProjectConfig(text: string, file: string): ProjectConfig {
  const fail = (field: string, message: string, at?: { line: number; column: number }): never => {
    // The file and field travel as the error's location: the CLI prints them as file#field.
    throw new ModhostError("E_CONFIG_INVALID", message, { file, ...(field !== "" ? { field } : {}), ...(at ?? {}) });
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const position = /position (\d+)/.exec(messageOf(err))?.[1];
    fail("", `not JSON: ${messageOf(err)}`, position === undefined ? undefined : lineColumn(text, Number(position)));
  }
  const top = object(raw, "", fail, `an object { ${TOP_KEYS.filter((k) => k !== "$schema").join(", ")} }`);
  for (const key of Object.keys(top)) if (!(TOP_KEYS as readonly string[]).includes(key)) fail(key, `unknown field (allowed: ${TOP_KEYS.join(", ")})`);

  const capabilities: Record<string, CapabilityStub> = {};
  for (const [name, value] of Object.entries(object(top.capabilities ?? {}, "capabilities", fail, `an object { [permission]: { "answer"?: any, "log"?: boolean } }`))) {
    const field = `capabilities.${name}`;
    if (!PERMISSION.test(name)) fail(field, "a permission name must be an identifier (letters, digits, _ and $)");
    const stub = object(value, field, fail, `an object { "answer"?: any JSON, "log"?: boolean }`);
    for (const key of Object.keys(stub)) if (key !== "answer" && key !== "log") fail(`${field}.${key}`, `unknown field (allowed: answer, log)`);
    if (stub.log !== undefined && typeof stub.log !== "boolean") fail(`${field}.log`, "must be true or false");
    capabilities[name] = { answer: stub.answer ?? null, log: stub.log !== false };
  }

  const grants: Record<string, readonly string[]> = {};
  for (const [mod, list] of Object.entries(object(top.grants ?? {}, "grants", fail, `an object { [modName]: permission[] }`))) {
    const field = `grants.${mod}`;
    if (!MOD_NAME.test(mod)) fail(field, "must be a mod name (lowercase letters, digits, '.', '_', '-')");
    if (!Array.isArray(list)) fail(field, "must be an array of permission names");
    (list as unknown[]).forEach((permission, i) => {
      if (typeof permission !== "string") fail(`${field}[${i}]`, "must be a permission name");
      if (!Object.hasOwn(capabilities, permission as string)) {
        fail(`${field}[${i}]`, `grants "${String(permission)}", which "capabilities" does not offer (offered: ${Object.keys(capabilities).join(", ") || "none"}); add "${String(permission)}": { "answer": null } to "capabilities"`);
      }
    });
    grants[mod] = [...(list as string[])];
  }

  const types: string[] = [];
  if (top.types !== undefined) {
    const list = typeof top.types === "string" ? [top.types] : top.types;
    if (!Array.isArray(list)) fail("types", "must be a path or an array of paths of .d.ts files (relative to the project file)");
    (list as unknown[]).forEach((entry, i) => {
      if (typeof entry !== "string" || !entry.endsWith(".d.ts")) fail(`types[${i}]`, "must be the path of a .d.ts file");
      types.push(resolve(dirname(file), entry as string));
    });
  }

  const limits: Record<string, number> = {};
  for (const [key, value] of Object.entries(object(top.limits ?? {}, "limits", fail, "an object of limits"))) {
    const min = LIMIT_KEYS[key];
    if (min === undefined) fail(`limits.${key}`, `unknown limit (allowed: ${Object.keys(LIMIT_KEYS).join(", ")})`);
    if (typeof value !== "number" || !Number.isInteger(value) || value < (min as number)) fail(`limits.${key}`, `must be a whole number of at least ${min}`);
    limits[key] = value as number;
  }

  let devEmit: DevEmit | undefined;
  if (top.dev !== undefined) {
    const dev = object(top.dev, "dev", fail, `an object { "emit"?: { "event": name, "payload"?: any } }`);
    for (const key of Object.keys(dev)) if (key !== "emit") fail(`dev.${key}`, "unknown field (allowed: emit)");
    if (dev.emit !== undefined) {
      const emit = object(dev.emit, "dev.emit", fail, `an object { "event": name, "payload"?: any }`);
      for (const key of Object.keys(emit)) if (key !== "event" && key !== "payload") fail(`dev.emit.${key}`, "unknown field (allowed: event, payload)");
      if (typeof emit.event !== "string" || emit.event === "" || emit.event.length > 256) fail("dev.emit.event", "must be an event name");
      devEmit = { event: emit.event as string, payload: emit.payload ?? null };
    }
  }
  return { file, capabilities, grants, types, limits, ...(devEmit !== undefined ? { devEmit } : {}) };
}

function object(value: unknown, field: string, fail: (field: string, message: string) => never, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, `must be ${what}`);
  return value as Record<string, unknown>;
}

/** 1-based line and 0-based column (as every ErrorInfo) of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1) ?? "").length };
}

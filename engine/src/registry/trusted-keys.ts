import { readFile } from "node:fs/promises";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { parsePublicKeyLine, type PublicKey } from "./minisign-key.js";

/**
 * The operator's trusted keys file: which public keys may sign which mods.
 * ```json
 * { "keys": [ { "key": "RWQ...", "mods": ["arena"], "expires": "2027-06-30T00:00:00Z", "revoked": false, "comment": "..." } ] }
 * ```
 * `key` is a minisign public key line (the second line of a .pub file); `mods` lists mod names, or
 * "*" for every mod; `expires` (ISO 8601, optional) ends the key's trust; `revoked` (optional)
 * withdraws it at once. Unknown fields are refused, each error names the field.
 */

/** One trusted key. */
export interface TrustedKey {
  readonly publicKey: PublicKey;
  /** Mod names this key may sign; "*" is every mod. */
  readonly mods: readonly string[];
  /** When the key stops being trusted, ms since the epoch. */
  readonly expiresAt?: number;
  readonly revoked: boolean;
  readonly comment?: string;
}

/** A parsed trusted keys file, by key id. */
export interface TrustedKeys {
  readonly keys: ReadonlyMap<string, TrustedKey>;
  /** Where it came from (a file path or "options"), for messages. */
  readonly source: string;
}

const ENTRY_FIELDS = ["key", "mods", "expires", "revoked", "comment"];
const MOD_NAME = /^(\*|[a-z0-9][a-z0-9._-]{0,63})$/;

/** Parses a trusted keys document (already JSON-decoded) strictly; throws E_TRUST_INVALID with the field at fault. */
export function parseTrustedKeys(value: unknown, source = "trusted keys"): TrustedKeys {
  const fail = (message: string, field: string): ModhostError => new ModhostError("E_TRUST_INVALID", `${source}: ${field}: ${message}`, { field, ...(source.includes("/") ? { file: source } : {}) });
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail("must be an object with a \"keys\" array", "(top)");
  for (const key of Object.keys(value)) if (key !== "keys") throw fail("unknown field", key);
  const list = (value as { keys?: unknown }).keys;
  if (!Array.isArray(list)) throw fail("must be an array", "keys");
  const keys = new Map<string, TrustedKey>();
  list.forEach((entry: unknown, i) => {
    const at = `keys[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw fail("must be an object", at);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) if (!ENTRY_FIELDS.includes(key)) throw fail(`unknown field (expected ${ENTRY_FIELDS.join(", ")})`, `${at}.${key}`);
    if (typeof e.key !== "string") throw fail("must be a minisign public key line (the second line of a .pub file)", `${at}.key`);
    let publicKey: PublicKey;
    try {
      publicKey = parsePublicKeyLine(e.key, `${at}.key`);
    } catch (err) {
      throw fail(messageOf(err), `${at}.key`);
    }
    if (!Array.isArray(e.mods) || e.mods.length === 0) throw fail("must be a non-empty array of mod names (or \"*\")", `${at}.mods`);
    const mods = e.mods.map((m: unknown, j) => {
      if (typeof m !== "string" || !MOD_NAME.test(m)) throw fail(`${JSON.stringify(m)} is not a mod name or "*"`, `${at}.mods[${j}]`);
      return m;
    });
    let expiresAt: number | undefined;
    if (e.expires !== undefined) {
      expiresAt = typeof e.expires === "string" && /^\d{4}-\d{2}-\d{2}/.test(e.expires) ? Date.parse(e.expires) : Number.NaN;
      if (!Number.isFinite(expiresAt)) throw fail(`${JSON.stringify(e.expires)} is not an ISO 8601 date`, `${at}.expires`);
    }
    if (e.revoked !== undefined && typeof e.revoked !== "boolean") throw fail("must be true or false", `${at}.revoked`);
    if (e.comment !== undefined && typeof e.comment !== "string") throw fail("must be a string", `${at}.comment`);
    if (keys.has(publicKey.keyId)) throw fail(`key ${publicKey.keyId} is listed twice`, `${at}.key`);
    keys.set(publicKey.keyId, {
      publicKey,
      mods,
      revoked: e.revoked === true,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(typeof e.comment === "string" ? { comment: e.comment } : {}),
    });
  });
  return { keys, source };
}

/** Reads and parses a trusted keys file. */
export async function loadTrustedKeys(file: string): Promise<TrustedKeys> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ModhostError("E_TRUST_INVALID", `cannot read the trusted keys file ${file}: ${messageOf(err)}`, { file }, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ModhostError("E_TRUST_INVALID", `${file} is not JSON: ${messageOf(err)}`, { file }, { cause: err });
  }
  return parseTrustedKeys(value, file);
}

/**
 * The trusted key `keyId` if it may sign `mod` at `now`; otherwise throws E_KEY_UNTRUSTED (unknown,
 * or not scoped to this mod), E_KEY_REVOKED or E_KEY_EXPIRED.
 */
export function trustedKeyFor(trust: TrustedKeys, keyId: string, mod: string, now: number): TrustedKey {
  const entry = trust.keys.get(keyId);
  if (entry === undefined) throw new ModhostError("E_KEY_UNTRUSTED", `the package is signed by key ${keyId}, which is not in ${trust.source}`, { mod });
  if (entry.revoked) throw new ModhostError("E_KEY_REVOKED", `key ${keyId} is marked revoked in ${trust.source}`, { mod });
  if (entry.expiresAt !== undefined && now >= entry.expiresAt) {
    throw new ModhostError("E_KEY_EXPIRED", `key ${keyId}'s trust expired at ${new Date(entry.expiresAt).toISOString()} (${trust.source})`, { mod });
  }
  if (!entry.mods.includes("*") && !entry.mods.includes(mod)) {
    throw new ModhostError("E_KEY_UNTRUSTED", `key ${keyId} may sign ${entry.mods.join(", ")}, not "${mod}" (${trust.source})`, { mod });
  }
  return entry;
}

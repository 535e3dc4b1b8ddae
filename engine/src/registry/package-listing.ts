import { createHash } from "node:crypto";
import { ModhostError } from "../errors/modhost-error.js";

/**
 * The signed listing of a package: every file in it (but the listing and its signature) with its
 * sha256 and size, the mod's name and version, and the id of the key that signs it. It is canonical
 * JSON (fixed key order, files sorted by path, one trailing newline), so the same files always give
 * the same listing bytes, and those bytes are what the minisign signature covers.
 */

import { LISTING_FILE } from "../model/package-files.js";
export { LISTING_FILE, SIGNATURE_FILE } from "../model/package-files.js";
/** The listing format this code writes and reads. */
export const LISTING_FORMAT = 1;

/** One listed file. */
export interface ListedFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/** A package's listing. */
export interface PackageListing {
  readonly format: typeof LISTING_FORMAT;
  /** The mod's name (mod.json). */
  readonly mod: string;
  /** The mod's version (mod.json). */
  readonly version: string;
  /** The npm package name (package.json). */
  readonly package: string;
  /** The signing key's id, minisign's 16 hex digits. */
  readonly keyId: string;
  readonly files: readonly ListedFile[];
}

/** The hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Builds the listing of `files` (path -> bytes). */
export function buildListing(head: Omit<PackageListing, "format" | "files">, files: ReadonlyMap<string, Uint8Array>): PackageListing {
  const listed = [...files.keys()].sort().map((path) => {
    const bytes = files.get(path) as Uint8Array;
    return { path, sha256: sha256Hex(bytes), size: bytes.length };
  });
  return { format: LISTING_FORMAT, mod: head.mod, version: head.version, package: head.package, keyId: head.keyId, files: listed };
}

/** The canonical bytes of a listing. */
export function serializeListing(listing: PackageListing): Buffer {
  const files = [...listing.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }));
  const ordered = { format: listing.format, mod: listing.mod, version: listing.version, package: listing.package, keyId: listing.keyId, files };
  return Buffer.from(`${JSON.stringify(ordered, null, 2)}\n`);
}

function invalid(message: string, field?: string): ModhostError {
  return new ModhostError("E_LISTING_MISMATCH", `${LISTING_FILE}: ${message}`, { file: LISTING_FILE, ...(field !== undefined ? { field } : {}) });
}

const KEYS = ["format", "mod", "version", "package", "keyId", "files"];

/** Parses a listing strictly (unknown keys, wrong types, duplicate paths are refused). */
export function parseListing(bytes: Uint8Array): PackageListing {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw invalid(`not JSON (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("must be a JSON object");
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!KEYS.includes(key)) throw invalid(`unknown field "${key}"`, key);
  if (record.format !== LISTING_FORMAT) throw invalid(`format must be ${LISTING_FORMAT}, got ${JSON.stringify(record.format)}`, "format");
  for (const key of ["mod", "version", "package"] as const) {
    if (typeof record[key] !== "string" || record[key] === "") throw invalid(`"${key}" must be a non-empty string`, key);
  }
  if (typeof record.keyId !== "string" || !/^[0-9A-F]{16}$/.test(record.keyId)) throw invalid(`"keyId" must be 16 upper-case hex digits`, "keyId");
  if (!Array.isArray(record.files)) throw invalid(`"files" must be an array`, "files");
  const seen = new Set<string>();
  const files = record.files.map((entry: unknown, i): ListedFile => {
    const field = `files[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw invalid(`${field} must be an object`, field);
    const f = entry as Record<string, unknown>;
    for (const key of Object.keys(f)) if (!["path", "sha256", "size"].includes(key)) throw invalid(`${field}: unknown field "${key}"`, `${field}.${key}`);
    if (typeof f.path !== "string" || f.path === "") throw invalid(`${field}.path must be a non-empty string`, `${field}.path`);
    if (typeof f.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(f.sha256)) throw invalid(`${field}.sha256 must be 64 lower-case hex digits`, `${field}.sha256`);
    if (typeof f.size !== "number" || !Number.isSafeInteger(f.size) || f.size < 0) throw invalid(`${field}.size must be a non-negative integer`, `${field}.size`);
    if (seen.has(f.path)) throw invalid(`${f.path} is listed twice`, `${field}.path`);
    seen.add(f.path);
    return { path: f.path, sha256: f.sha256, size: f.size };
  });
  return { format: LISTING_FORMAT, mod: record.mod as string, version: record.version as string, package: record.package as string, keyId: record.keyId, files };
}

/**
 * Checks that `files` are exactly the listed files with the listed hashes and sizes; throws
 * E_LISTING_MISMATCH naming the first file that is missing, extra or different.
 */
export function checkListing(listing: PackageListing, files: ReadonlyMap<string, Uint8Array>): void {
  const listed = new Map(listing.files.map((f) => [f.path, f]));
  for (const path of [...files.keys()].sort()) {
    if (!listed.has(path)) throw new ModhostError("E_LISTING_MISMATCH", `${path} is in the package but not in its signed listing`, { file: path });
  }
  for (const entry of listing.files) {
    const bytes = files.get(entry.path);
    if (bytes === undefined) throw new ModhostError("E_LISTING_MISMATCH", `${entry.path} is in the signed listing but not in the package`, { file: entry.path });
    if (bytes.length !== entry.size || sha256Hex(bytes) !== entry.sha256) {
      throw new ModhostError("E_LISTING_MISMATCH", `${entry.path} differs from its signed listing (sha256 ${sha256Hex(bytes)}, listed ${entry.sha256})`, { file: entry.path });
    }
  }
}

import { createHash } from "node:crypto";
import semver from "semver";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { parseManifest, type ModManifest } from "../manifest/mod-manifest.js";
import { parseSignature, verifySignature } from "./minisign-signature.js";
import { LISTING_FILE, SIGNATURE_FILE, checkListing, parseListing, sha256Hex, type PackageListing } from "./package-listing.js";
import { DEFAULT_TARBALL_LIMITS, readTarball, type TarballLimits } from "./package-tarball.js";
import { trustedKeyFor, type TrustedKeys } from "./trusted-keys.js";

/** What the verifier is told to expect of a package. */
export interface VerifyExpectations {
  readonly trust: TrustedKeys;
  /** The npm package name followed: package.json and the listing must name it. */
  readonly packageName?: string;
  /** The mod name the followed package has carried so far: mod.json must keep it. */
  readonly modName?: string;
  /** The version the registry says this is (the tag's target): the signed version must be it. */
  readonly version?: string;
  /** The registry's dist.integrity (SRI, sha512): checked first, on the bytes as received. */
  readonly integrity?: string;
  /** The newest version the server has run for this mod: the package must be newer. */
  readonly newerThan?: string;
  /** The time keys' expiry is judged at (ms since the epoch); default now. */
  readonly now?: number;
  readonly limits?: TarballLimits;
}

/** A package that passed every check. */
export interface VerifiedPackage {
  /** sha256 of the tarball bytes: the package's content address. */
  readonly sha256: string;
  readonly listing: PackageListing;
  readonly manifest: ModManifest;
  /** Every file of the package by path (package.json, mod.json, sources, listing, signature). */
  readonly files: ReadonlyMap<string, Buffer>;
  /** mod.json and the sources: what a mod folder holds. */
  readonly modFiles: ReadonlyMap<string, Buffer>;
  readonly keyId: string;
}

/** Checks an SRI string (e.g. "sha512-...") against `bytes`; only sha512 entries count. */
export function checkIntegrity(bytes: Uint8Array, integrity: string): void {
  const entries = integrity.trim().split(/\s+/).filter((e) => e.startsWith("sha512-"));
  if (entries.length === 0) throw new ModhostError("E_REGISTRY_RESPONSE", `dist.integrity ${JSON.stringify(integrity.slice(0, 100))} has no sha512 hash`, { field: "dist.integrity" });
  const actual = `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
  if (!entries.some((e) => e === actual)) throw new ModhostError("E_PACKAGE_INTEGRITY", `the tarball's sha512 (${actual.slice(0, 30)}...) does not match the registry's dist.integrity`, { field: "dist.integrity" });
}

/**
 * Verifies a package tarball, in this order, before anything is compiled: the registry's integrity;
 * the tarball's paths, types and sizes; the signed listing (exactly the files present, every hash);
 * the signature, by a key that is trusted, unrevoked, unexpired and scoped to the mod; the names
 * (package.json, mod.json, listing, the followed package and mod); and that the version is newer
 * than `newerThan`. Throws the first failure as a ModhostError; writes nothing.
 */
export async function verifyPackage(tgz: Uint8Array, expect: VerifyExpectations): Promise<VerifiedPackage> {
  if (expect.integrity !== undefined) checkIntegrity(tgz, expect.integrity);
  const files = await readTarball(tgz, expect.limits ?? DEFAULT_TARBALL_LIMITS);
  return { sha256: sha256Hex(tgz), ...verifyPackageFiles(files, expect) };
}

/**
 * The checks after the tarball's: the listing, the signature and key, the names and the version
 * (see verifyPackage). Used on their own for a signed package unpacked into a mod folder.
 */
export function verifyPackageFiles(files: ReadonlyMap<string, Buffer>, expect: VerifyExpectations): Omit<VerifiedPackage, "sha256"> {
  const listingBytes = files.get(LISTING_FILE);
  if (listingBytes === undefined) throw new ModhostError("E_LISTING_MISMATCH", `the package has no ${LISTING_FILE}: it is not a signed modhost package`, { file: LISTING_FILE });
  const signatureBytes = files.get(SIGNATURE_FILE);
  if (signatureBytes === undefined) throw new ModhostError("E_SIGNATURE_INVALID", `the package has no ${SIGNATURE_FILE}`, { file: SIGNATURE_FILE });
  const listing = parseListing(listingBytes);
  const content = new Map([...files].filter(([path]) => path !== LISTING_FILE && path !== SIGNATURE_FILE));
  checkListing(listing, content);

  const signature = parseSignature(signatureBytes.toString("utf8"), SIGNATURE_FILE);
  const known = expect.trust.keys.get(signature.keyId);
  if (known === undefined) throw new ModhostError("E_KEY_UNTRUSTED", `the package is signed by key ${signature.keyId}, which is not in ${expect.trust.source}`, { mod: listing.mod });
  if (!verifySignature(listingBytes, signature, known.publicKey)) {
    throw new ModhostError("E_SIGNATURE_INVALID", `the signature of ${LISTING_FILE} does not verify with key ${signature.keyId}: the listing was changed after signing, or the signature was not made by that key`, { mod: listing.mod, file: SIGNATURE_FILE });
  }
  if (listing.keyId !== signature.keyId) throw new ModhostError("E_SIGNATURE_INVALID", `the listing names key ${listing.keyId} but is signed by ${signature.keyId}`, { mod: listing.mod, file: LISTING_FILE, field: "keyId" });
  trustedKeyFor(expect.trust, signature.keyId, listing.mod, expect.now ?? Date.now());

  const manifest = readManifest(content);
  const pkg = readPackageJson(content);
  const mismatch = (message: string, field: string, file: string): ModhostError => new ModhostError("E_PACKAGE_NAME", message, { mod: listing.mod, file, field });
  if (manifest.name !== listing.mod) throw mismatch(`mod.json names "${manifest.name}" but the signed listing names "${listing.mod}"`, "name", "mod.json");
  if (manifest.version !== listing.version) throw mismatch(`mod.json says version ${manifest.version} but the signed listing says ${listing.version}`, "version", "mod.json");
  if (pkg.name !== listing.package) throw mismatch(`package.json names "${pkg.name}" but the signed listing names "${listing.package}"`, "name", "package.json");
  if (pkg.version !== listing.version) throw mismatch(`package.json says version ${pkg.version} but the signed listing says ${listing.version}`, "version", "package.json");
  if (expect.packageName !== undefined && listing.package !== expect.packageName) throw mismatch(`the package is signed as "${listing.package}", not the followed "${expect.packageName}"`, "name", "package.json");
  if (expect.modName !== undefined && manifest.name !== expect.modName) throw mismatch(`the package holds mod "${manifest.name}", but "${expect.packageName ?? "this package"}" has carried mod "${expect.modName}"`, "name", "mod.json");
  if (expect.version !== undefined && listing.version !== expect.version) {
    throw new ModhostError("E_REGISTRY_RESPONSE", `the registry serves this tarball as version ${expect.version}, but it is signed as ${listing.version}`, { mod: listing.mod, field: "version" });
  }
  if (expect.newerThan !== undefined && !semver.gt(listing.version, expect.newerThan)) {
    throw new ModhostError("E_DOWNGRADE", `${listing.mod} ${listing.version} is not newer than ${expect.newerThan}, which this server has run; rolling back is the operator's act (modhost rollback)`, { mod: listing.mod });
  }
  const modFiles = new Map([...content].filter(([path]) => path !== "package.json"));
  return { listing, manifest, files, modFiles, keyId: signature.keyId };
}

function readManifest(files: ReadonlyMap<string, Buffer>): ModManifest {
  const bytes = files.get("mod.json");
  if (bytes === undefined) throw new ModhostError("E_PACKAGE_INVALID", "the package has no mod.json", { file: "mod.json" });
  const parsed = parseManifest(bytes.toString("utf8"));
  if (!parsed.ok) {
    const first = parsed.diagnostics[0];
    throw new ModhostError("E_MANIFEST_INVALID", `mod.json in the package: ${first?.message ?? "invalid"}`, { file: "mod.json", ...(first?.field !== undefined ? { field: first.field } : {}) });
  }
  return parsed.manifest;
}

function readPackageJson(files: ReadonlyMap<string, Buffer>): { name: string; version: string } {
  const bytes = files.get("package.json");
  if (bytes === undefined) throw new ModhostError("E_PACKAGE_INVALID", "the package has no package.json", { file: "package.json" });
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new ModhostError("E_PACKAGE_INVALID", `package.json is not JSON: ${messageOf(err)}`, { file: "package.json" });
  }
  const v = value as { name?: unknown; version?: unknown } | null;
  if (typeof v?.name !== "string" || typeof v.version !== "string") throw new ModhostError("E_PACKAGE_INVALID", "package.json must have a string name and version", { file: "package.json" });
  return { name: v.name, version: v.version };
}

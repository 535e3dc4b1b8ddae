import { createHash } from "node:crypto";
import { readDeployFiles } from "../deploy/deploy-files.js";
import { ModhostError } from "../errors/modhost-error.js";
import { parseManifest } from "../manifest/mod-manifest.js";
import type { SecretKey } from "./minisign-key.js";
import { signMessage } from "./minisign-signature.js";
import { LISTING_FILE, SIGNATURE_FILE, buildListing, serializeListing, sha256Hex, type PackageListing } from "./package-listing.js";
import { writeTarball } from "./package-tarball.js";

/** A packed, signed mod. */
export interface PackedMod {
  /** The .tgz bytes (reproducible: the same sources and key give the same bytes). */
  readonly tarball: Buffer;
  /** npm's file name for it: `<name>-<version>.tgz`, a scope's `@` dropped and `/` as `-`. */
  readonly fileName: string;
  readonly listing: PackageListing;
  /** The listing's .minisig text. */
  readonly signature: string;
  readonly sha256: string;
  /** The SRI string npm and registries give as dist.integrity. */
  readonly integrity: string;
}

// npm's rules for a package name (lower case, url-safe, optional @scope/, at most 214 characters).
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** The trusted comment of a package's signature: what `minisign -V` prints as trusted. */
export function trustedComment(listing: PackageListing): string {
  return `modhost package ${listing.package}@${listing.version} mod ${listing.mod} listing sha256 ${sha256Hex(serializeListing(listing))}`;
}

/**
 * Packs the mod in `dir` (mod.json and the source files a deploy carries) with a package.json and
 * a listing signed by `key`. Does not compile: callers run the check gate first.
 */
export async function packMod(dir: string, key: SecretKey, options: { readonly packageName?: string } = {}): Promise<PackedMod> {
  const sources = await readDeployFiles(dir);
  const parsed = parseManifest(sources["mod.json"] ?? "");
  if (!parsed.ok) throw new ModhostError("E_MANIFEST_INVALID", parsed.diagnostics[0]?.message ?? "mod.json is invalid", { file: "mod.json" });
  const manifest = parsed.manifest;
  const packageName = options.packageName ?? manifest.name;
  if (!NPM_NAME.test(packageName) || packageName.length > 214) {
    throw new ModhostError("E_CLI_USAGE", `${JSON.stringify(packageName)} is not a valid npm package name (lower case, letters, digits, ".", "_", "-", "~", optional @scope/)`);
  }
  const packageJson = {
    name: packageName,
    version: manifest.version,
    description: manifest.description ?? `modhost mod ${manifest.name}`,
    keywords: ["modhost-mod"],
    modhost: { mod: manifest.name, listing: LISTING_FILE },
  };
  const files = new Map<string, Buffer>(Object.entries(sources).map(([path, text]) => [path, Buffer.from(text, "utf8")]));
  files.set("package.json", Buffer.from(`${JSON.stringify(packageJson, null, 2)}\n`));
  const listing = buildListing({ mod: manifest.name, version: manifest.version, package: packageName, keyId: key.keyId }, files);
  const listingBytes = serializeListing(listing);
  const signature = signMessage(listingBytes, key, trustedComment(listing));
  files.set(LISTING_FILE, listingBytes);
  files.set(SIGNATURE_FILE, Buffer.from(signature));
  const tarball = await writeTarball(files);
  const fileName = `${packageName.replace(/^@/, "").replace("/", "-")}-${manifest.version}.tgz`;
  return { tarball, fileName, listing, signature, sha256: sha256Hex(tarball), integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}` };
}

import { gzipSync } from "node:zlib";
import { pack, type Headers } from "tar-stream";
import { generateKeyPair, publicKeyLine, type SecretKey } from "../../engine/src/registry/minisign-key.js";
import { signMessage } from "../../engine/src/registry/minisign-signature.js";
import { LISTING_FILE, SIGNATURE_FILE, buildListing, serializeListing, type PackageListing } from "../../engine/src/registry/package-listing.js";
import { writeTarball } from "../../engine/src/registry/package-tarball.js";
import { parseTrustedKeys, type TrustedKeys } from "../../engine/src/registry/trusted-keys.js";

/** What a test package is made of, and the ways to tamper with it after signing. */
export interface PackageSpec {
  readonly mod?: string;
  readonly version?: string;
  readonly packageName?: string;
  readonly main?: string;
  readonly key?: SecretKey;
  /** Changes the signed listing before it is signed (e.g. another version). */
  readonly listing?: (listing: PackageListing) => PackageListing;
  /** Changes the files after signing (adds, removes, alters). */
  readonly tamper?: (files: Map<string, Buffer>) => void;
}

export const MAIN = `import { defineMod } from "@modhost/sdk";
export default defineMod<{ n: number }>({ init: () => ({ n: 0 }), on: { hit(s) { s.n++; return s.n; } } });
`;

/** Builds a signed package's files the way `modhost pack` does (without the compile gate). */
export function packageFiles(spec: PackageSpec = {}): { files: Map<string, Buffer>; key: SecretKey; listing: PackageListing } {
  const key = spec.key ?? generateKeyPair();
  const mod = spec.mod ?? "counter";
  const version = spec.version ?? "1.0.0";
  const packageName = spec.packageName ?? mod;
  const files = new Map<string, Buffer>([
    ["mod.json", Buffer.from(JSON.stringify({ name: mod, version, entry: "main.ts", permissions: [] }))],
    ["main.ts", Buffer.from(spec.main ?? MAIN)],
    ["package.json", Buffer.from(JSON.stringify({ name: packageName, version }))],
  ]);
  let listing = buildListing({ mod, version, package: packageName, keyId: key.keyId }, files);
  if (spec.listing) listing = spec.listing(listing);
  const bytes = serializeListing(listing);
  files.set(LISTING_FILE, bytes);
  files.set(SIGNATURE_FILE, Buffer.from(signMessage(bytes, key, `modhost package ${packageName}@${version}`)));
  spec.tamper?.(files);
  return { files, key, listing };
}

/** A signed package tarball (see packageFiles). */
export async function buildPackage(spec: PackageSpec = {}): Promise<{ tarball: Buffer; key: SecretKey; listing: PackageListing }> {
  const { files, key, listing } = packageFiles(spec);
  return { tarball: await writeTarball(files), key, listing };
}

/** Trusted keys for tests. */
export function trustOf(entries: readonly { key: SecretKey; mods?: string[]; expires?: string; revoked?: boolean }[]): TrustedKeys {
  return parseTrustedKeys({ keys: entries.map((e) => ({ key: publicKeyLine(e.key.publicKey), mods: e.mods ?? ["*"], ...(e.expires ? { expires: e.expires } : {}), ...(e.revoked !== undefined ? { revoked: e.revoked } : {}) })) }, "test-trust.json");
}

/** A raw tarball from hand-made tar headers, for hostile entries the writer refuses to make. */
export async function rawTarball(entries: readonly { header: Partial<Headers> & { name: string }; body?: Buffer }[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of tar) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  for (const { header, body } of entries) {
    await new Promise<void>((resolve, reject) => tar.entry({ mode: 0o644, mtime: new Date(0), ...header, ...(body !== undefined ? { size: body.length } : {}) }, body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  }
  tar.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

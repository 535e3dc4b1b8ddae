import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { LISTING_FILE, SIGNATURE_FILE } from "./package-listing.js";
import { verifyPackageFiles } from "./package-verifier.js";
import type { TrustedKeys } from "./trusted-keys.js";
import type { SignedOrigin } from "../model/signed-origin.js";

/**
 * Checks that the mod in `dir` is a signed package unpacked (by the follower, a tarball deploy or an
 * operator): its listing and signature verify with a trusted key scoped to the mod, and the files
 * the loader read (`manifestText` and `sources`) are exactly the listed ones (plus package.json).
 * Throws E_UNSIGNED, with the underlying reason, when it is not; reads only the three package files.
 */
export async function checkSignedFolder(dir: string, manifestText: string, sources: ReadonlyMap<string, string>, trust: TrustedKeys, now = Date.now()): Promise<SignedOrigin> {
  const files = new Map<string, Buffer>([["mod.json", Buffer.from(manifestText, "utf8")]]);
  for (const [path, text] of sources) files.set(path, Buffer.from(text, "utf8"));
  for (const name of ["package.json", LISTING_FILE, SIGNATURE_FILE]) {
    try {
      files.set(name, await readFile(join(dir, name)));
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT" && name !== "package.json") {
        throw new ModhostError("E_UNSIGNED", `requireSigned is on and ${dir} holds unsigned code (no ${name}): install signed packages (registry.follow, or deploy a tarball made by modhost pack)`, { file: name });
      }
      if ((err as { code?: string }).code !== "ENOENT") throw new ModhostError("E_UNSIGNED", `requireSigned is on and ${join(dir, name)} cannot be read: ${messageOf(err)}`, { file: name });
    }
  }
  try {
    const verified = verifyPackageFiles(files, { trust, now });
    return { package: verified.listing.package, version: verified.listing.version, keyId: verified.keyId };
  } catch (err) {
    const info = err instanceof ModhostError ? err.toInfo() : { code: "E_INTERNAL", message: messageOf(err) };
    throw new ModhostError("E_UNSIGNED", `requireSigned is on and the code in ${dir} is not a verified signed package: ${info.code}: ${info.message}`, { ...("file" in info && info.file !== undefined ? { file: info.file } : {}) }, { cause: err });
  }
}

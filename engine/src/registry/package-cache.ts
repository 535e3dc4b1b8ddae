import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { atomicWrite } from "../persist/atomic-write.js";
import { sha256Hex } from "./package-listing.js";

/**
 * Verified packages kept on disk so that a restart does not need the registry:
 * ```
 * <dir>/blobs/<sha256>.tgz        the tarball as downloaded (content-addressed)
 * <dir>/refs/<npm name>.json      { name, version, sha256, keyId, mod, integrity } of the newest
 *                                 verified version of each followed package (name URI-encoded)
 * ```
 * Only verified packages are written, and a blob read back is checked against its name; the
 * package is verified again before it is used (the cache is not trusted more than the registry).
 */

/** What the cache remembers of a followed package. */
export interface CachedRef {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly keyId: string;
  readonly mod: string;
  readonly integrity: string;
}

/** A content-addressed cache of verified package tarballs. */
export class PackageCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  #blob(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ModhostError("E_INTERNAL", `not a sha256: ${sha256}`);
    return join(this.dir, "blobs", `${sha256}.tgz`);
  }

  #ref(name: string): string {
    return join(this.dir, "refs", `${encodeURIComponent(name)}.json`);
  }

  /** Stores a verified tarball and makes it the package's ref. The blob is durable before the ref names it. */
  async put(tarball: Uint8Array, ref: CachedRef): Promise<void> {
    if (sha256Hex(tarball) !== ref.sha256) throw new ModhostError("E_INTERNAL", "the cached tarball's sha256 differs from its ref");
    await mkdir(join(this.dir, "blobs"), { recursive: true });
    await mkdir(join(this.dir, "refs"), { recursive: true });
    await atomicWrite(this.#blob(ref.sha256), tarball);
    await atomicWrite(this.#ref(ref.name), `${JSON.stringify(ref, null, 2)}\n`);
  }

  /** The ref of `name`, or undefined when none was cached (or it is unreadable: the registry decides then). */
  async ref(name: string): Promise<CachedRef | undefined> {
    let text: string;
    try {
      text = await readFile(this.#ref(name), "utf8");
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return undefined;
      throw new ModhostError("E_PERSIST_FAILED", `cannot read the package cache's ref of ${name}: ${messageOf(err)}`, { file: this.#ref(name) });
    }
    let v: Partial<CachedRef> | null;
    try {
      v = JSON.parse(text) as Partial<CachedRef> | null;
    } catch {
      v = null;
    }
    const fields = ["name", "version", "sha256", "keyId", "mod", "integrity"] as const;
    if (v === null || typeof v !== "object" || fields.some((f) => typeof v[f] !== "string")) throw new ModhostError("E_PERSIST_FAILED", `the package cache's ref of ${name} is damaged`, { file: this.#ref(name) });
    return v as CachedRef;
  }

  /** The tarball `sha256`, or undefined when it is missing or its bytes do not match their name. */
  async blob(sha256: string): Promise<Buffer | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.#blob(sha256));
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return undefined;
      throw new ModhostError("E_PERSIST_FAILED", `cannot read ${this.#blob(sha256)}: ${messageOf(err)}`, { file: this.#blob(sha256) });
    }
    return sha256Hex(bytes) === sha256 ? bytes : undefined;
  }

  /** Deletes every blob no ref names and not in `keep` (e.g. the versions still in history). */
  async prune(keep: ReadonlySet<string> = new Set()): Promise<number> {
    const named = new Set(keep);
    const refs = await readdir(join(this.dir, "refs")).catch(() => [] as string[]);
    for (const file of refs) {
      const ref = await this.ref(decodeURIComponent(file.replace(/\.json$/, ""))).catch(() => undefined);
      if (ref !== undefined) named.add(ref.sha256);
    }
    let removed = 0;
    for (const file of await readdir(join(this.dir, "blobs")).catch(() => [] as string[])) {
      const sha = file.replace(/\.tgz$/, "");
      if (named.has(sha)) continue;
      await rm(join(this.dir, "blobs", file), { force: true });
      removed++;
    }
    return removed;
  }
}

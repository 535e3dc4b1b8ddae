import { mkdir, readFile, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import type { ModManifest } from "../manifest/mod-manifest.js";
import { atomicWrite } from "./atomic-write.js";
import { KeyedMutex } from "../util/keyed-mutex.js";

/** A version's sources as stored: enough to compile it again on restart. */
export interface StoredVersion {
  readonly hash: string;
  readonly manifest: ModManifest;
  readonly files: Readonly<Record<string, string>>;
}

/**
 * The versions a restart may need, by hash (`versions/<hash>.json`), so that a restart can bring
 * back the exact live version and its history even if the mod's folder has changed since.
 * Versions nothing names any more are pruned (see prune()); a version being written for a swap is
 * pinned until the swap ends (release()).
 */
export class VersionStore {
  readonly #dir: string;
  readonly #written = new Set<string>();
  /** Versions written for a swap under way, with how many swaps hold each. */
  readonly #pinned = new Map<string, number>();
  /** Writes and prunes, in call order (a prune must not remove a file a write just found present). */
  readonly #lock = new KeyedMutex<"versions">();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(stateDir: string): Promise<VersionStore> {
    const dir = join(stateDir, "versions");
    await mkdir(dir, { recursive: true });
    return new VersionStore(dir);
  }

  /** Stores a version once (its hash names its content) and pins it until release(hash). */
  write(version: StoredVersion): Promise<void> {
    this.#pinned.set(version.hash, (this.#pinned.get(version.hash) ?? 0) + 1);
    const run = this.#lock.run("versions", async () => {
      if (this.#written.has(version.hash)) return;
      const path = this.#path(version.hash);
      const exists = await stat(path).then(() => true, () => false);
      if (!exists) await atomicWrite(path, JSON.stringify({ format: 1, ...version }));
      this.#written.add(version.hash);
    });
    return run.catch((err: unknown) => {
      this.release(version.hash);
      throw err;
    });
  }

  /** Ends the pin a write() took. */
  release(hash: string): void {
    const count = (this.#pinned.get(hash) ?? 0) - 1;
    if (count > 0) this.#pinned.set(hash, count);
    else this.#pinned.delete(hash);
  }

  /**
   * Removes every stored version that is not pinned and that `keep` does not claim; `keep` is asked
   * right before each removal, so that it sees what the host names at that moment. Returns how
   * many were removed.
   */
  prune(keep: (hash: string) => boolean): Promise<number> {
    return this.#lock.run("versions", async () => {
      let removed = 0;
      for (const name of await readdir(this.#dir)) {
        const match = /^([0-9a-f]{16,128})\.json$/.exec(name);
        if (match === null) continue;
        const hash = match[1] as string;
        if (this.#pinned.has(hash) || keep(hash)) continue;
        await rm(join(this.#dir, name), { force: true });
        this.#written.delete(hash);
        removed++;
      }
      return removed;
    });
  }

  /** Reads a stored version; E_STATE_CORRUPT if it is missing or damaged. */
  async read(hash: string): Promise<StoredVersion> {
    let raw: Partial<StoredVersion> & { format?: unknown };
    try {
      raw = JSON.parse(await readFile(this.#path(hash), "utf8")) as Partial<StoredVersion> & { format?: unknown };
    } catch (err) {
      throw new ModhostError("E_STATE_CORRUPT", `version ${hash} cannot be read from the stateDir: ${(err as Error).message}`, {}, { cause: err });
    }
    if (raw.format !== 1) throw new ModhostError("E_STATE_FORMAT", `version ${hash} has format ${String(raw.format)}; this modhost reads format 1`);
    if (raw.hash !== hash || typeof raw.manifest !== "object" || typeof raw.files !== "object") throw new ModhostError("E_STATE_CORRUPT", `version ${hash} in the stateDir is incomplete`);
    this.#written.add(hash);
    return raw as StoredVersion;
  }

  #path(hash: string): string {
    if (!/^[0-9a-f]{16,128}$/.test(hash)) throw new ModhostError("E_STATE_CORRUPT", `"${hash}" is not a version hash`);
    return join(this.#dir, `${hash}.json`);
  }
}

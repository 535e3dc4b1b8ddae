import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import type { ModManifest } from "../manifest/mod-manifest.js";
import { atomicWrite } from "./atomic-write.js";

/** A version's sources as stored: enough to compile it again on restart. */
export interface StoredVersion {
  readonly hash: string;
  readonly manifest: ModManifest;
  readonly files: Readonly<Record<string, string>>;
}

/**
 * Every version that was ever live, by hash (`versions/<hash>.json`), so that a restart can bring
 * back the exact live version and its history even if the mod's folder has changed since.
 */
export class VersionStore {
  readonly #dir: string;
  readonly #written = new Set<string>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(stateDir: string): Promise<VersionStore> {
    const dir = join(stateDir, "versions");
    await mkdir(dir, { recursive: true });
    return new VersionStore(dir);
  }

  /** Stores a version once (its hash names its content). */
  async write(version: StoredVersion): Promise<void> {
    if (this.#written.has(version.hash)) return;
    const path = this.#path(version.hash);
    const exists = await stat(path).then(() => true, () => false);
    if (!exists) await atomicWrite(path, JSON.stringify({ format: 1, ...version }));
    this.#written.add(version.hash);
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

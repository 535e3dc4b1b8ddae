import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { scanReferences } from "./version-references.js";
import type { VersionStore } from "./version-store.js";

/**
 * Removes stored versions that nothing names any more: no mod folder's files in the stateDir
 * (loaded or not: a mod whose folder is gone keeps its state and its versions) and nothing a
 * loaded mod holds in memory (live version, history, pending approval, checkpoint, journal).
 * Runs one pass at a time; a request while one runs runs another after it.
 */
export class VersionPruner {
  readonly #versions: VersionStore;
  readonly #modsStateDir: string;
  /** Whether a loaded mod names `hash` right now (asked right before each removal). */
  readonly #inMemory: (hash: string) => boolean;
  readonly #onError: (err: Error) => void;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(versions: VersionStore, modsStateDir: string, inMemory: (hash: string) => boolean, onError: (err: Error) => void) {
    this.#versions = versions;
    this.#modsStateDir = modsStateDir;
    this.#inMemory = inMemory;
    this.#onError = onError;
  }

  /** Asks for a pass (soon, beside everything else). */
  request(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#pass()
      .catch((err: unknown) => this.#onError(err as Error))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.request();
        }
      });
  }

  /** Stops new passes and waits for the one under way. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running !== undefined) await this.#running;
  }

  async #pass(): Promise<void> {
    // What the files name (possibly a little stale: newer references are in some mod's memory)...
    const onDisk = new Set<string>();
    for (const mod of await readdir(this.#modsStateDir)) for (const hash of await scanReferences(join(this.#modsStateDir, mod))) onDisk.add(hash);
    // ...and what the mods name at the moment each file would be removed.
    await this.#versions.prune((hash) => onDisk.has(hash) || this.#inMemory(hash));
  }
}

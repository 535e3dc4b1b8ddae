import { performance } from "node:perf_hooks";

/**
 * Group commit for the "batch" durability: callers that need a file synced within the same few
 * milliseconds share one fdatasync per file. Each caller's promise resolves once a sync that began
 * after its write has finished.
 */
export class GroupCommit {
  readonly #windowMs: number;
  readonly #pending = new Map<{ sync(): Promise<void> }, { resolve: () => void; reject: (err: unknown) => void }[]>();
  #timer: NodeJS.Timeout | undefined;
  readonly #onSync: (ms: number) => void;

  constructor(windowMs: number, onSync: (ms: number) => void) {
    this.#windowMs = windowMs;
    this.#onSync = onSync;
  }

  /** Resolves when `file` has been synced after this call. */
  sync(file: { sync(): Promise<void> }): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(file) ?? [];
      waiters.push({ resolve, reject });
      this.#pending.set(file, waiters);
      this.#timer ??= setTimeout(() => void this.#flush(), this.#windowMs);
    });
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    const batch = [...this.#pending];
    this.#pending.clear();
    await Promise.all(
      batch.map(async ([file, waiters]) => {
        const start = performance.now();
        try {
          await file.sync();
          this.#onSync(performance.now() - start);
          for (const w of waiters) w.resolve();
        } catch (err) {
          for (const w of waiters) w.reject(err);
        }
      }),
    );
  }

  /** Syncs whatever is pending now (used on close). */
  async drain(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#flush();
  }
}

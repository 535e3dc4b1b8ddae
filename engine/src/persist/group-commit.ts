import { performance } from "node:perf_hooks";

/** Something that can be synced to disk (a journal segment). */
interface Syncable {
  sync(): Promise<void>;
}

interface FileState {
  syncing: boolean;
  waiting: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * Group commit for the "batch" durability. A sync starts as soon as one is asked for and none is
 * running for that file (an idle mod pays one fdatasync, no waiting window); callers that ask while
 * one is running share the next one. Each caller's promise resolves once a sync that began after
 * its request has finished, so its write is on disk.
 */
export class GroupCommit {
  readonly #files = new Map<Syncable, FileState>();
  readonly #running = new Set<Promise<void>>();
  readonly #onSync: (ms: number) => void;

  constructor(onSync: (ms: number) => void) {
    this.#onSync = onSync;
  }

  /** Resolves when `file` has been synced after this call. */
  sync(file: Syncable): Promise<void> {
    let state = this.#files.get(file);
    if (state === undefined) {
      state = { syncing: false, waiting: [] };
      this.#files.set(file, state);
    }
    const current = state;
    return new Promise((resolve, reject) => {
      current.waiting.push({ resolve, reject });
      if (!current.syncing) {
        const run = this.#run(file, current);
        this.#running.add(run);
        void run.finally(() => this.#running.delete(run));
      }
    });
  }

  async #run(file: Syncable, state: FileState): Promise<void> {
    state.syncing = true;
    while (state.waiting.length > 0) {
      const group = state.waiting.splice(0);
      const start = performance.now();
      try {
        await file.sync();
        this.#onSync(performance.now() - start);
        for (const w of group) w.resolve();
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    state.syncing = false;
    this.#files.delete(file);
  }

  /** Waits for every sync under way (used on close). */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}

/**
 * Runs async sections one at a time per key, in the order they were asked for; different keys
 * run independently. A section that fails does not stop the ones queued after it (its caller
 * gets the error). Replaces the hand-kept promise tails (`tail = tail.then(fn)`) the engine had
 * in several places; a key's entry is dropped once its line is empty, so keys do not accumulate.
 */
export class KeyedMutex<K> {
  readonly #tails = new Map<K, Promise<void>>();

  /** Runs `fn` after every section of `key` asked for before it; resolves or rejects as `fn` does. */
  run<T>(key: K, fn: () => Promise<T> | T): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(settled, settled);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Resolves once every section of `key` asked for so far has settled (never rejects). */
  idle(key: K): Promise<void> {
    return this.#tails.get(key) ?? Promise.resolve();
  }

  /** How many keys have a section running or queued (for tests and leak checks). */
  get size(): number {
    return this.#tails.size;
  }
}

function settled(): void {}

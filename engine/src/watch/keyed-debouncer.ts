/**
 * A trailing debounce per key: every `touch` of a key restarts that key's quiet period and merges
 * its pending value; when a key has been quiet for `delayMs`, `onSettled` gets the merged value
 * once. Keys are independent, so a burst in one mod folder never delays another's report.
 */
export class KeyedDebouncer<Key, Value> {
  readonly #delayMs: number;
  readonly #onSettled: (key: Key, value: Value) => void;
  readonly #pending = new Map<Key, { value: Value; timer: NodeJS.Timeout }>();

  /**
   * @param delayMs quiet time after the last touch of a key before it settles.
   * @param onSettled called once per settled burst, with the value merged over the burst.
   */
  constructor(delayMs: number, onSettled: (key: Key, value: Value) => void) {
    this.#delayMs = delayMs;
    this.#onSettled = onSettled;
  }

  /**
   * Records activity on `key`, restarting its quiet period. `merge` gets the value pending for the
   * key in this burst (undefined for the first touch) and returns the new one.
   */
  touch(key: Key, merge: (pending: Value | undefined) => Value): void {
    const previous = this.#pending.get(key);
    if (previous !== undefined) clearTimeout(previous.timer);
    const value = merge(previous?.value);
    const timer = setTimeout(() => {
      this.#pending.delete(key);
      this.#onSettled(key, value);
    }, this.#delayMs);
    this.#pending.set(key, { value, timer });
  }

  /** How many keys are waiting to settle. */
  get size(): number {
    return this.#pending.size;
  }

  /** Drops every pending burst without settling it. */
  cancelAll(): void {
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }
}

/**
 * Deployed versions held for approval, by mod: their files stay out of the mod's folder (so a
 * restart or a reload never proposes them again) until `approve` writes them; and who asked for
 * each version the admin channel swapped in (`by`), for `versions`. In memory: a restart forgets
 * a held deploy, as the host forgets the held version itself.
 */
const MAX_BY = 1000;

export class HeldDeploys {
  readonly #held = new Map<string, { readonly hash: string; readonly files: Readonly<Record<string, string>> }>();
  readonly #by = new Map<string, string>();

  /** Keeps the files of `mod`'s version `hash`, held for approval (replacing an earlier one). */
  hold(mod: string, hash: string, files: Readonly<Record<string, string>>): void {
    this.#held.set(mod, { hash, files });
  }

  /** The held files of `mod`, if the version held by the host is still the one deployed. */
  take(mod: string, pendingHash: string | undefined): Readonly<Record<string, string>> | undefined {
    const held = this.#held.get(mod);
    this.#held.delete(mod);
    return held !== undefined && held.hash === pendingHash ? held.files : undefined;
  }

  /** Notes who asked for version `hash` of `mod`. */
  noteBy(mod: string, hash: string, by: string | undefined): void {
    if (by === undefined) return;
    this.#by.set(`${mod}\0${hash}`, by);
    // Bounded: the oldest names go first (Maps iterate in insertion order).
    for (const key of this.#by.keys()) {
      if (this.#by.size <= MAX_BY) break;
      this.#by.delete(key);
    }
  }

  /** Who asked for version `hash` of `mod`, if the admin channel knows. */
  by(mod: string, hash: string): string | undefined {
    return this.#by.get(`${mod}\0${hash}`);
  }
}

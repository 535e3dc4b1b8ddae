/**
 * Deployed versions held for approval, by mod: their files stay out of the mod's folder (so a
 * restart or a reload never proposes them again) until `approve` writes them. In memory: a
 * restart forgets a held deploy, as the host forgets the held version itself. (Who asked for each
 * version, `by`, is kept by the host's version ledger.)
 */

export class HeldDeploys {
  readonly #held = new Map<string, { readonly hash: string; readonly files: Readonly<Record<string, string>> }>();

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
}

/**
 * Versions loaded ahead of need in a spare sandbox process: for each mod that lives in the live
 * process, an isolate with the prelude run and the mod's modules linked and evaluated, but no
 * state. Loading the code is nearly all of a restore's cost in the sandbox (measured here: 1.0-1.3
 * ms of CPU per small mod, against 0.06 ms to import its state), so after a crash the restores
 * that find their version here only import the checkpoint and replay. Such an instance is what
 * start(spec, seed, "empty") makes, which a fresh-isolate swap already adopts a state into
 * (importing a snapshot sets the random generator's position too).
 */
import { createHash } from "node:crypto";
import type { ModInstance } from "./mod-instance.js";
import type { LoadSpec } from "../model/wire.js";

/** How long a process keeps versions nobody took once it serves (ms): restores come soon after a crash. */
export const PRELOAD_LINGER_MS = 30_000;

/** The key of a load spec: the same on both sides of the process boundary (its JSON, hashed). */
export function specKey(spec: LoadSpec): string {
  return createHash("sha256").update(JSON.stringify(spec)).digest("base64url");
}

/** Preloaded versions by spec key, one instance each. Owned by the InstanceRegistry of the process. */
export class PreloadedVersions {
  readonly #byKey = new Map<string, ModInstance>();

  get size(): number {
    return this.#byKey.size;
  }

  /** Keeps the versions `keep` names and loads each of `add` with `open` (undefined: it did not load). */
  update(keep: readonly string[], add: readonly LoadSpec[], open: (spec: LoadSpec) => ModInstance | undefined): void {
    const wanted = new Set(keep);
    for (const [key, instance] of this.#byKey) {
      if (wanted.has(key)) continue;
      instance.dispose();
      this.#byKey.delete(key);
    }
    for (const spec of add) {
      const key = specKey(spec);
      if (this.#byKey.has(key) || !wanted.has(key)) continue;
      const instance = open(spec);
      if (instance !== undefined) this.#byKey.set(key, instance);
    }
  }

  /** The preloaded instance of exactly this spec, if one waits (the caller owns it). */
  take(spec: LoadSpec): ModInstance | undefined {
    if (this.#byKey.size === 0) return undefined;
    const key = specKey(spec);
    const instance = this.#byKey.get(key);
    if (instance === undefined) return undefined;
    this.#byKey.delete(key);
    return instance.dead ? undefined : instance;
  }

  /** Disposes every waiting instance. */
  close(): void {
    for (const instance of this.#byKey.values()) instance.dispose();
    this.#byKey.clear();
  }
}

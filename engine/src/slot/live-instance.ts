import { createHash, randomInt } from "node:crypto";
import type { SandboxBackend } from "../sandbox/sandbox-backend.js";

/**
 * The slot's instance in the sandbox, with the sandbox generation it lives in: after the sandbox
 * process restarts, an id from an older generation names nothing.
 */
export class LiveInstance {
  readonly #backend: SandboxBackend;
  #id: string | undefined;
  #generation = -1;

  constructor(backend: SandboxBackend) {
    this.#backend = backend;
  }

  /** The instance's id, if the slot has one (it may be gone with an older sandbox). */
  get id(): string | undefined {
    return this.#id;
  }

  /** Is there an instance, in the sandbox that runs now? */
  get live(): boolean {
    return this.#id !== undefined && this.#generation === this.#backend.generation && this.#backend.holds(this.#id);
  }

  /** Is `id` the live instance, in the sandbox that runs now? */
  is(id: string): boolean {
    return this.#id === id && this.#generation === this.#backend.generation && this.#backend.holds(id);
  }

  /** Adopts an instance started in sandbox `generation` (the current one unless said). */
  set(id: string, generation: number = this.#backend.generation): void {
    this.#id = id;
    this.#generation = generation;
  }

  /** Forgets the instance without stopping it (its sandbox is gone, and the instance with it). */
  forget(): void {
    this.#id = undefined;
  }

  /** Stops the live instance (if its sandbox still has it) and forgets it. */
  async drop(): Promise<void> {
    const id = this.#id;
    this.#id = undefined;
    if (id !== undefined && this.#generation === this.#backend.generation) await this.#backend.stop(id);
  }
}

/**
 * Four 32-bit words: the first seed of a mod's random generator. Random, unless the host was given
 * `randomSeed`: then derived from it and the mod's name (reproducible runs, different per mod).
 */
export function randomSeed(base?: number, mod = ""): number[] {
  if (base === undefined) return [randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32), randomInt(2 ** 32)];
  const digest = createHash("sha256").update(`modhost-seed:${base}:${mod}`).digest();
  return [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
}

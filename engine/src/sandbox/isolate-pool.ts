/**
 * Isolates made ahead of need: an isolate, its context and the prelude already run, and nothing
 * else (no mod code, no seed, no callbacks: the prelude's boot() gets those when a mod takes one).
 * Making an isolate and running the prelude are most of what a mod's start costs (measured here:
 * 2-7 ms of about 3-8), so a spare sandbox process fills a pool with as many as the live one has
 * mods while it waits, and the restores after a crash skip that work. The prelude is compiled
 * whole (not function by function at first call), so its API does not compile on the recovery
 * path either. An isolate that ran only the prelude is indistinguishable from a fresh one to the
 * mod that takes it.
 */
import { withEagerCompilation } from "./eager-compilation.js";
import { IsolateHandle } from "./ivm.js";
import { PRELUDE_FUNCTIONS, preludeSource, type PreludeHandles } from "./prelude-source.js";

/** A made isolate and the References to its prelude's API. */
export interface PremadeIsolate {
  readonly isolate: IsolateHandle;
  readonly api: PreludeHandles;
}

/** Pre-made isolates by memory limit (MB). One per thread (module state). */
export class IsolatePool {
  readonly #byMemory = new Map<number, PremadeIsolate[]>();

  /** How many isolates are waiting. */
  get size(): number {
    let n = 0;
    for (const list of this.#byMemory.values()) n += list.length;
    return n;
  }

  /** Makes up to `count` more isolates with `memoryMb`; returns how many it made. */
  fill(memoryMb: number, count: number): number {
    let list = this.#byMemory.get(memoryMb);
    if (list === undefined) {
      list = [];
      this.#byMemory.set(memoryMb, list);
    }
    let made = 0;
    for (; made < count; made++) {
      const premade = make(memoryMb);
      if (premade === undefined) break;
      list.push(premade);
    }
    return made;
  }

  /** A pre-made isolate with `memoryMb`, if one waits (the caller owns it). */
  take(memoryMb: number): PremadeIsolate | undefined {
    const list = this.#byMemory.get(memoryMb);
    if (list === undefined || list.length === 0) return undefined;
    return list.pop();
  }

  /** Disposes every waiting isolate. */
  close(): void {
    for (const list of this.#byMemory.values()) for (const premade of list.splice(0)) premade.isolate.dispose();
    this.#byMemory.clear();
  }
}

function make(memoryMb: number): PremadeIsolate | undefined {
  const isolate = IsolateHandle.create(memoryMb);
  // Compiled whole while the spare waits: a lazily compiled prelude would compile its API on the
  // recovery path, once per restored mod (sandbox/eager-compilation.ts).
  const api = withEagerCompilation(() => isolate.runScriptForFunctions(preludeSource(), "modhost:prelude", PRELUDE_FUNCTIONS, 1000));
  if (api.kind === "ok") return { isolate, api: api.value };
  // The prelude is our own code: failing here means a starved or broken process; make no more.
  isolate.dispose();
  return undefined;
}

/** This thread's pool (filled only in a spare sandbox process). */
export const isolatePool = new IsolatePool();

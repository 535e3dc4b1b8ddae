// The part every sandboxed peer loader shares: a set of mods, each a sandbox holding its state and
// exposing the glue's functions (mod-glue.js); events dispatched as JSON, one call per mod per
// emit, or one call per mod for a whole batch; "hot swap" = export the state as JSON, throw the
// sandbox away, build a new one with the new code, import the state (through migrate() if the new
// code has one). Subclasses say how to build a sandbox and call into it.
import { performance } from "node:perf_hooks";
import { noteFailure } from "../lib/failures.js";
import { eventSet, toResult, transpile } from "./mod-glue.js";

/**
 * A sandbox, as a subclass builds it: `call(fn, ...stringArgs)` calls one of the glue's functions
 * (`__dispatch`, `__dispatchBatch`, `__export`, `__import`, `__init`) and returns its string or
 * boolean result; `dispose()` frees it.
 */
export class PeerLoader {
  /** @type {Map<string, { sandbox: any, events: Set<string> }>} */
  mods = new Map();
  /** Each mod's current glue source, to put it back when a swap's new code does not build. */
  #glue = new Map();
  sync = true;

  /** Builds a sandbox from glue source: subclasses. Returns { sandbox, events }. */
  // eslint-disable-next-line class-methods-use-this
  build(_glueSource) {
    throw new Error("not implemented");
  }

  /** Loads every mod ({ name: typescriptSource }), runs init() in each. */
  load(mods, { cached = true } = {}) {
    for (const [name, source] of Object.entries(mods)) {
      const glue = transpile(source, { cached });
      this.mods.set(name, this.#buildAndInit(name, glue));
      this.#glue.set(name, glue);
    }
    return this;
  }

  /**
   * Builds a mod's sandbox and runs its init(), again (up to 3 tries, each counted) when a
   * wall-clock limit tripped: on a starved machine a 1 s init deadline can pass before the
   * sandbox got the CPU, as modhost's loads are retried (lib/failures.js createHost).
   */
  #buildAndInit(name, glue) {
    for (let attempt = 1; ; attempt++) {
      let built;
      try {
        built = this.build(glue);
        built.sandbox.call("__init");
        return built;
      } catch (err) {
        built?.sandbox.dispose();
        if (attempt >= 3 || !/interrupted|timed out/i.test(String(err?.message))) throw err;
        noteFailure(`${this.constructor.peer ?? "peer"}:load:timeout`, `${name}: ${err.message}`);
      }
    }
  }

  /** One event to every mod that handles it: one result per mod. */
  emit(event, payload) {
    const json = JSON.stringify(payload ?? null);
    const out = [];
    for (const [name, mod] of this.mods) {
      if (!mod.events.has(event)) continue;
      try {
        out.push(toResult(name, mod.sandbox.call("__dispatch", event, json)));
      } catch (err) {
        // A peer's wall-clock limit can trip on a starved machine: a failed result (counted by the
        // caller like modhost's), not the end of the run.
        if (!/timed out/.test(String(err?.message))) throw err;
        out.push({ mod: name, ok: false, error: { code: "E_TIMEOUT", message: err.message } });
      }
    }
    return out;
  }

  /**
   * Many events at once (`[[event, payload], ...]`): one call per mod with the events it handles.
   * Returns, per event, the results of the mods that handle it (the shape of awaiting many emits).
   */
  emitBatch(events) {
    const out = events.map(() => []);
    /** What batchText keeps for the rest of this call (NaiveIvmSharedTextLoader: the tick's text). */
    const thisCall = {};
    for (const [name, mod] of this.mods) {
      const indexes = [];
      const mine = [];
      for (let i = 0; i < events.length; i++) {
        if (mod.events.has(events[i][0])) {
          indexes.push(i);
          mine.push(events[i]);
        }
      }
      if (mine.length === 0) continue;
      const results = JSON.parse(mod.sandbox.call("__dispatchBatch", this.batchText(mine, events, thisCall)));
      for (let k = 0; k < results.length; k++) {
        const r = results[k];
        out[indexes[k]].push(r.ok ? { mod: name, ok: true, value: r.value } : { mod: name, ok: false, error: { message: r.error } });
      }
    }
    return out;
  }

  /** The JSON a mod's batch call gets: `mine`, its share of the tick's `events`, written for it. */
  // eslint-disable-next-line class-methods-use-this
  batchText(mine, _events, _thisCall) {
    return JSON.stringify(mine);
  }

  /** The state of a mod, as a copy. */
  state(name) {
    return JSON.parse(this.#mod(name).sandbox.call("__export"));
  }

  /**
   * Hot swap, the naive way: compile the new source, then (events held from here) export the
   * state, dispose of the sandbox, build a new one with the new code, import the state.
   */
  swap(name, source) {
    const t0 = performance.now();
    const js = transpile(source, { cached: false });
    const t1 = performance.now();
    const old = this.#mod(name);
    const stateJson = old.sandbox.call("__export");
    old.sandbox.dispose();
    this.mods.delete(name);
    let built;
    try {
      built = this.build(js);
      built.sandbox.call("__import", stateJson);
    } catch (err) {
      // A save read half written (a loaded machine) does not compile: put the old code back with
      // its state, so the mod is still there for the next save, and report the refused swap.
      built?.sandbox.dispose();
      const back = this.build(this.#glue.get(name));
      back.sandbox.call("__import", stateJson);
      this.mods.set(name, back);
      throw err;
    }
    this.mods.set(name, built);
    this.#glue.set(name, js);
    const t2 = performance.now();
    return { pauseMs: t2 - t1, totalMs: t2 - t0 };
  }

  close() {
    for (const mod of this.mods.values()) mod.sandbox.dispose();
    this.mods.clear();
  }

  #mod(name) {
    const mod = this.mods.get(name);
    if (mod === undefined) throw new Error(`no mod ${name}`);
    return mod;
  }
}

export { eventSet };

// Baseline: node:vm. NOT a security boundary (the Node docs say so: code in a context can reach the
// host through prototype chains, and a call into a context has no time limit when it is a plain
// function call). One context per mod (code generation from strings off), the mod's TypeScript
// transpiled and run as a script, the state inside the context, events in and results out as JSON
// strings (the same interface as the sandboxed peers). Two kinds of hot swap:
//   "copy" (default, like the other peers): export the state as JSON, new context, import;
//   "samectx": evaluate the new code in the same context and hand the state object over (no copy).
import { performance } from "node:perf_hooks";
import vm from "node:vm";
import { PeerLoader, eventSet } from "./loader.js";
import { glue, transpile } from "./mod-glue.js";

const TIMEOUT_MS = 1000; // script runs (load, reload) only: function calls cannot be timed out

class VmSandbox {
  constructor(js) {
    this.context = vm.createContext({}, { codeGeneration: { strings: false, wasm: false } });
    this.events = this.run(js, false);
  }

  run(js, reload) {
    const events = eventSet(vm.runInContext(glue(js, { reload }), this.context, { timeout: TIMEOUT_MS }));
    // The glue's functions, looked up once per load, as a loader would keep them.
    this.fns = {};
    for (const fn of ["__init", "__dispatch", "__dispatchBatch", "__export", "__import"]) this.fns[fn] = this.context[fn];
    return events;
  }

  call(fn, ...args) {
    return this.fns[fn](...args);
  }

  dispose() {
    this.fns = {};
    this.context = undefined;
  }
}

export class NodeVmLoader extends PeerLoader {
  static peer = "nodevm";

  static async create(mods, options) {
    return new NodeVmLoader().load(mods, options);
  }

  // eslint-disable-next-line class-methods-use-this
  build(js) {
    const sandbox = new VmSandbox(js);
    return { sandbox, events: sandbox.events };
  }

  /** `mode` "copy": as the other peers. "samectx": new code in the same context, state handed over. */
  swap(name, source, { mode = "copy" } = {}) {
    if (mode === "copy") return super.swap(name, source);
    const t0 = performance.now();
    const js = transpile(source, { cached: false });
    const t1 = performance.now();
    const mod = this.mods.get(name);
    mod.events = mod.sandbox.run(js, true);
    const t2 = performance.now();
    return { pauseMs: t2 - t1, totalMs: t2 - t0 };
  }
}

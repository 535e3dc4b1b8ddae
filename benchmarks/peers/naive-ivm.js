// Peer: a plain isolated-vm loader, written the obvious way. One isolate (memory limit) and context
// per mod; the mod's TypeScript transpiled and run as a script; its state lives inside the isolate;
// events go in as JSON strings through Reference.applySync with a time limit, results come back as
// JSON strings. Hot swap: export the state as JSON, dispose of the isolate, create a new one with
// the new code, import the state. What it lacks next to modhost: no process isolation, no fault
// handling or quarantine, no type check or safety rules, no checkpoints, no in-place swap.
import { PeerLoader, eventSet } from "./loader.js";
import { glue } from "./mod-glue.js";
import { loadIsolatedVm } from "../lib/ivm.js";

const ivm = loadIsolatedVm();

/** modhost's defaults: a 32 MB heap and a 50 ms call time limit per mod. */
const MEMORY_MB = 32;
const TIMEOUT_MS = 50;
const FUNCTIONS = ["__init", "__dispatch", "__dispatchBatch", "__export", "__import"];

class IvmSandbox {
  constructor(js) {
    this.isolate = new ivm.Isolate({ memoryLimit: MEMORY_MB });
    try {
      this.context = this.isolate.createContextSync();
      const script = this.isolate.compileScriptSync(glue(js));
      this.events = eventSet(script.runSync(this.context, { timeout: TIMEOUT_MS * 20 }));
      script.release();
      this.refs = {};
      for (const fn of FUNCTIONS) this.refs[fn] = this.context.global.getSync(fn, { reference: true });
    } catch (err) {
      this.isolate.dispose();
      throw err;
    }
  }

  call(fn, ...args) {
    // One event gets the per-event limit; a batch, init, export and import a longer one.
    const timeout = fn === "__dispatch" ? TIMEOUT_MS : TIMEOUT_MS * 20;
    return this.refs[fn].applySync(undefined, args, { timeout });
  }

  dispose() {
    for (const ref of Object.values(this.refs)) ref.release();
    this.context.release();
    this.isolate.dispose();
  }
}

export class NaiveIvmLoader extends PeerLoader {
  static peer = "naive_ivm";

  static async create(mods, options) {
    return new NaiveIvmLoader().load(mods, options);
  }

  // eslint-disable-next-line class-methods-use-this
  build(js) {
    const sandbox = new IvmSandbox(js);
    return { sandbox, events: sandbox.events };
  }
}

/**
 * The naive loader with one saving: a tick's JSON is written once and the same text goes to every
 * mod that handles all of its events (the naive loader writes it per mod). Not a peer of the
 * tables: probes/alone.js runs it as the floor of a one-thread inline loader, what any such loader
 * must do per mod (one call, the isolate's parse of the tick, its handlers, its results' JSON, the
 * host's parse of them), with nothing else.
 */
export class NaiveIvmSharedTextLoader extends NaiveIvmLoader {
  static peer = "naive_ivm_shared";

  static async create(mods, options) {
    return new NaiveIvmSharedTextLoader().load(mods, options);
  }

  /** A mod given the whole tick gets the text written once in this call for every such mod. */
  batchText(mine, events, thisCall) {
    if (mine.length !== events.length) return super.batchText(mine, events, thisCall);
    thisCall.whole ??= JSON.stringify(events);
    return thisCall.whole;
  }
}

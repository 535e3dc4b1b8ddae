// Peer: quickjs-emscripten, a WASM sandbox (the QuickJS interpreter compiled to WebAssembly; the
// release-sync build). One QuickJS runtime (memory limit, interrupt handler enforcing a deadline
// per call) and context per mod, in the one shared WebAssembly module; the mod's TypeScript
// transpiled and evaluated as a script; the state lives inside the VM; events go in as JSON strings
// through callFunction, results come back as JSON strings. Hot swap: export the state as JSON,
// dispose of context and runtime, create new ones with the new code, import the state.
import { getQuickJS } from "quickjs-emscripten";
import { PeerLoader, eventSet } from "./loader.js";
import { glue } from "./mod-glue.js";

const QuickJS = await getQuickJS();

const MEMORY_MB = 32;
const TIMEOUT_MS = 50;
const FUNCTIONS = ["__init", "__dispatch", "__dispatchBatch", "__export", "__import"];

class QuickJsSandbox {
  constructor(js) {
    this.runtime = QuickJS.newRuntime();
    this.deadline = Number.POSITIVE_INFINITY;
    try {
      this.runtime.setMemoryLimit(MEMORY_MB * 1024 * 1024);
      this.runtime.setMaxStackSize(1024 * 1024);
      this.runtime.setInterruptHandler(() => Date.now() > this.deadline);
      this.vm = this.runtime.newContext();
      this.deadline = Date.now() + TIMEOUT_MS * 20;
      const loaded = this.vm.evalCode(glue(js), "mod.js");
      this.deadline = Number.POSITIVE_INFINITY;
      const events = this.vm.unwrapResult(loaded);
      this.events = eventSet(this.vm.getString(events));
      events.dispose();
      this.fns = {};
      for (const fn of FUNCTIONS) this.fns[fn] = this.vm.getProp(this.vm.global, fn);
    } catch (err) {
      this.vm?.dispose();
      this.runtime.dispose();
      throw err;
    }
  }

  call(fn, ...args) {
    const vm = this.vm;
    const handles = args.map((arg) => vm.newString(arg));
    this.deadline = Date.now() + (fn === "__dispatch" ? TIMEOUT_MS : TIMEOUT_MS * 20);
    const result = vm.callFunction(this.fns[fn], vm.undefined, ...handles);
    this.deadline = Number.POSITIVE_INFINITY;
    for (const handle of handles) handle.dispose();
    if (result.error) {
      const error = vm.dump(result.error);
      result.error.dispose();
      throw new Error(`quickjs ${fn}: ${JSON.stringify(error)}`);
    }
    // __init and __import answer true; the others a string.
    const value = fn === "__init" || fn === "__import" ? true : vm.getString(result.value);
    result.value.dispose();
    return value;
  }

  dispose() {
    for (const handle of Object.values(this.fns)) handle.dispose();
    this.vm.dispose();
    this.runtime.dispose();
  }
}

export class QuickJsLoader extends PeerLoader {
  static peer = "quickjs";

  static async create(mods, options) {
    return new QuickJsLoader().load(mods, options);
  }

  // eslint-disable-next-line class-methods-use-this
  build(js) {
    const sandbox = new QuickJsSandbox(js);
    return { sandbox, events: sandbox.events };
  }
}

// The floor: the same mod as plain host code. The mod's TypeScript is transpiled and evaluated in
// this realm (new Function); its handlers are called directly with the payload objects, the state
// is a host object, and nothing is serialized. Hot swap: evaluate the new code and hand the state
// object over (through migrate() if the new code has one). No isolation of any kind.
import { performance } from "node:perf_hooks";
import { transpile } from "./mod-glue.js";

const sdk = { defineMod: (definition) => definition };
const requireSdk = (specifier) => {
  if (specifier === "@modhost/sdk") return sdk;
  throw new Error(`cannot import ${specifier}`);
};

function evaluate(js) {
  const module = { exports: {} };
  // eslint-disable-next-line no-new-func -- evaluating the mod in the host is the point of the floor
  new Function("exports", "require", "module", js)(module.exports, requireSdk, module);
  const mod = module.exports.default;
  return { on: mod.on ?? {}, init: mod.init, migrate: typeof mod.migrate === "function" ? mod.migrate : undefined };
}

export class NativeLoader {
  static peer = "native";
  sync = true;
  /** @type {Map<string, { def: ReturnType<typeof evaluate>, state: unknown }>} */
  mods = new Map();

  static async create(mods, { cached = true } = {}) {
    const loader = new NativeLoader();
    for (const [name, source] of Object.entries(mods)) {
      const def = evaluate(transpile(source, { cached }));
      loader.mods.set(name, { def, state: def.init() });
    }
    return loader;
  }

  emit(event, payload) {
    const out = [];
    for (const [name, mod] of this.mods) {
      const handler = mod.def.on[event];
      if (handler === undefined) continue;
      try {
        out.push({ mod: name, ok: true, value: handler(mod.state, payload) });
      } catch (err) {
        out.push({ mod: name, ok: false, error: { message: String(err?.message ?? err) } });
      }
    }
    return out;
  }

  emitBatch(events) {
    const out = new Array(events.length);
    for (let i = 0; i < events.length; i++) out[i] = this.emit(events[i][0], events[i][1]);
    return out;
  }

  state(name) {
    return structuredClone(this.mods.get(name).state);
  }

  swap(name, source) {
    const t0 = performance.now();
    const def = evaluate(transpile(source, { cached: false }));
    const t1 = performance.now();
    const mod = this.mods.get(name);
    mod.def = def;
    if (def.migrate) mod.state = def.migrate(mod.state);
    const t2 = performance.now();
    return { pauseMs: t2 - t1, totalMs: t2 - t0 };
  }

  close() {
    this.mods.clear();
  }
}

// What every peer loader shares: compiling a mod's TypeScript to JavaScript (typescript's
// transpileModule, the same compiler modhost uses, with no type check and no safety analysis), and
// the glue that runs that JavaScript inside a sandbox and exposes a JSON-in, JSON-out interface:
//
//   __events                      the event names the mod handles, comma-separated
//   __init()                      state = mod.init()
//   __dispatch(name, payloadJson) -> '{"ok":true,"value":...}' or '{"ok":false,"error":"..."}'
//   __dispatchBatch(eventsJson)   [[name, payload], ...] -> JSON array of the same results
//   __export()                    -> JSON of the state
//   __import(stateJson)           state = JSON.parse(stateJson), through mod.migrate() if it has one
//
// A mod is the SDK's shape: `export default defineMod({ init, on: { event(state, payload) }, migrate? })`.
// The glue keeps the state in `globalThis.__state`, so a same-context reload (node:vm) can evaluate
// new glue over it and hand the state over without a copy.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let typescript;
const cache = new Map();

/**
 * The mod's TypeScript as a CommonJS script body. `cached`: reuse the output for the same text
 * (the peers' equivalent of modhost's compile cache); a swap always compiles.
 */
export function transpile(source, { cached = true } = {}) {
  if (cached) {
    const hit = cache.get(source);
    if (hit !== undefined) return hit;
  }
  typescript ??= require("typescript");
  const js = typescript.transpileModule(source, {
    compilerOptions: { target: typescript.ScriptTarget.ES2022, module: typescript.ModuleKind.CommonJS },
  }).outputText;
  if (cached) cache.set(source, js);
  return js;
}

/** Drops the transpile cache (cold-start measurements of "uncached" in the same process). */
export function clearTranspileCache() {
  cache.clear();
}

/**
 * A script that loads the mod `js` (from `transpile`) into the current global and defines the
 * interface above. With `reload`, the state already in the global is kept (and migrated if the new
 * code has a migrate()); otherwise the state is unset until __init() or __import().
 */
export function glue(js, { reload = false } = {}) {
  return `(function () {
  "use strict";
  var G = globalThis;
  var module = { exports: {} };
  var sdk = { defineMod: function (definition) { return definition; } };
  var require = function (specifier) {
    if (specifier === "@modhost/sdk") return sdk;
    throw new Error("cannot import " + specifier);
  };
  (function (exports, require, module) {
${js}
  })(module.exports, require, module);
  var mod = module.exports.default;
  if (mod === null || typeof mod !== "object" || typeof mod.init !== "function") throw new Error("the mod has no default export from defineMod()");
  var on = mod.on || {};
  var migrate = typeof mod.migrate === "function" ? mod.migrate : undefined;
  var stringify = JSON.stringify;
  var parse = JSON.parse;
  function result(value) {
    return value === undefined ? '{"ok":true,"value":null}' : '{"ok":true,"value":' + stringify(value) + "}";
  }
  function failure(err) {
    return stringify({ ok: false, error: String(err && err.message ? err.message : err) });
  }
  G.__events = Object.keys(on).join(",");
  G.__init = function () {
    G.__state = mod.init();
    return true;
  };
  G.__dispatch = function (name, payloadJson) {
    try {
      return result(on[name](G.__state, parse(payloadJson)));
    } catch (err) {
      return failure(err);
    }
  };
  G.__dispatchBatch = function (eventsJson) {
    var events = parse(eventsJson);
    var out = new Array(events.length);
    for (var i = 0; i < events.length; i++) {
      try {
        out[i] = result(on[events[i][0]](G.__state, events[i][1]));
      } catch (err) {
        out[i] = failure(err);
      }
    }
    return "[" + out.join(",") + "]";
  };
  G.__export = function () {
    return stringify(G.__state);
  };
  G.__import = function (stateJson) {
    var state = parse(stateJson);
    G.__state = migrate ? migrate(state) : state;
    return true;
  };
  ${reload ? "if (migrate) G.__state = migrate(G.__state);" : ""}
  return G.__events;
})();
`;
}

/** The handled event names from `__events`. */
export function eventSet(events) {
  return new Set(events === "" ? [] : events.split(","));
}

/** Parses one mod's result string and names the mod, as modhost's EmitResult does. */
export function toResult(mod, json) {
  const parsed = JSON.parse(json);
  return parsed.ok ? { mod, ok: true, value: parsed.value } : { mod, ok: false, error: { message: parsed.error } };
}

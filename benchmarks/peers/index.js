// The runners the comparison puts side by side. modhost's two isolations write the unprefixed keys
// (with their `_inline` / `_process` variants, as the modhost-only benchmarks do); every peer
// writes the same figures under `<peer>.`. Peers are loaded on first use (quickjs compiles its
// WebAssembly module at import).

/** Peer names, in table order. `native` is the floor every ratio is taken against. */
export const PEERS = ["naive_ivm", "quickjs", "nodevm", "native"];

/** Every runner, in table order: modhost first. */
export const RUNNERS = ["process", "inline", ...PEERS];

export const LABELS = {
  process: "modhost (process)",
  inline: "modhost (inline)",
  naive_ivm: "isolated-vm, naive loader",
  quickjs: "quickjs-emscripten (WASM)",
  nodevm: "node:vm (no security boundary)",
  native: "native host code (floor)",
  naive_ivm_process: "isolated-vm, naive loader behind a process boundary",
  naive_ivm_shared: "isolated-vm, naive loader writing a tick's JSON once",
};

const IMPORTS = {
  naive_ivm: async () => (await import("./naive-ivm.js")).NaiveIvmLoader,
  quickjs: async () => (await import("./quickjs.js")).QuickJsLoader,
  nodevm: async () => (await import("./node-vm.js")).NodeVmLoader,
  native: async () => (await import("./native.js")).NativeLoader,
  // Not in PEERS: only the tick benchmark runs it, as the floor of process isolation.
  naive_ivm_process: async () => (await import("./naive-ivm-process.js")).NaiveIvmProcessLoader,
  // Not in PEERS: probes/alone.js runs it, as the floor of a one-thread inline loader.
  naive_ivm_shared: async () => (await import("./naive-ivm.js")).NaiveIvmSharedTextLoader,
};

/** The loader class of a peer (its static create(mods, options) builds one). */
export function peerLoader(peer) {
  const load = IMPORTS[peer];
  if (load === undefined) throw new Error(`unknown peer ${peer}`);
  return load();
}

/**
 * Creates a runner over `mods` ({ name: typescriptSource }): a modhost host for "process" and
 * "inline", a peer loader otherwise. Every runner has emit, emitBatch, swap, state and close;
 * `sync` tells whether emit answers at once (peers) or with a promise (modhost).
 */
export async function createRunner(runner, mods, options = {}) {
  if (runner === "process" || runner === "inline") {
    const { ModhostLoader } = await import("./modhost.js");
    return ModhostLoader.create(mods, { isolation: runner, options: options.modhost ?? {}, limits: options.limits });
  }
  const Loader = await peerLoader(runner);
  return Loader.create(mods, options);
}

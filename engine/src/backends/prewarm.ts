/**
 * Warms a spare sandbox process before it says "ready": loads isolated-vm (the native module),
 * and starts, runs and stops one throw-away mod through the same code path real mods take, so
 * that the first restores after a crash do not pay for loading and for cold engine code.
 */
import { InstanceRegistry } from "../sandbox/instance-registry.js";
import type { LoadSpec, SandboxBridge } from "../model/wire.js";

const WARM_MOD: LoadSpec = {
  name: "modhost-prewarm",
  version: "0.0.0",
  hash: "prewarm",
  entry: "main.ts",
  modules: [
    {
      path: "main.ts",
      js: `import { defineMod } from "@modhost/sdk";\nexport default defineMod({ init: () => ({ n: 0 }), on: { tick(s) { s.n++; return s.n; } } });\n`,
      imports: { "@modhost/sdk": "@modhost/sdk" },
    },
  ],
  permissions: [],
  memoryMb: 32,
  callTimeoutMs: 1000,
  maxBytes: 1 << 20,
  maxLogsPerCall: 1,
};

/** Runs the throw-away mod once; failures are ignored (the real mods will report their own). */
export function prewarm(): void {
  const silent: SandboxBridge = {
    log: () => undefined,
    capability: () => ({ late: false, reply: JSON.stringify({ ok: false, code: "E_CAPABILITY_UNAVAILABLE", message: "prewarm", final: true }) }),
  };
  const registry = new InstanceRegistry(silent, "prewarm");
  try {
    const started = registry.start(WARM_MOD, [1, 2, 3, 4], { kind: "init", now: 0 });
    if (started.kind === "ok") {
      registry.dispatch(started.value.id, [{ seq: 1, name: "tick", payload: "{}", now: 0 }], false);
      registry.exportState(started.value.id);
    }
  } finally {
    registry.close();
  }
}

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const IVM_JS = fileURLToPath(new URL("../../dist/sandbox/ivm.js", import.meta.url));

/**
 * Runs a hot function in an isolate made by IsolateHandle.create(), then one in a worker thread
 * started after it, in a child Node with V8's --trace-opt, and returns the compile modes V8
 * reported for each (built engine: `npm test` builds first).
 */
function compileModes(execArgv: readonly string[]): { mod: string[]; host: string[] } {
  const script = `
    import { IsolateHandle } from ${JSON.stringify(IVM_JS)};
    const isolate = IsolateHandle.create(32);
    const api = isolate.runScriptForFunctions(
      "function modHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }" +
      "({ run() { let t = 0; for (let k = 0; k < 3000; k++) t += modHotLoop(500); return String(t); } })",
      "compile-mode-probe.js", ["run"], 10000);
    if (api.kind !== "ok") throw new Error("script: " + JSON.stringify(api));
    const out = isolate.call(api.value.run, [], 60000);
    if (out.kind !== "ok") throw new Error("call: " + JSON.stringify(out));
    isolate.dispose();
    // A worker made after the mod's isolate: its isolate is made with the flag as the process has it.
    const { Worker } = await import("node:worker_threads");
    const worker = new Worker(
      "function hostHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }" +
      "let t = 0; for (let k = 0; k < 3000; k++) t += hostHotLoop(500); import('node:worker_threads').then((w) => w.parentPort.postMessage(t > 0));",
      { eval: true });
    const hot = await new Promise((resolve, reject) => { worker.once("message", resolve); worker.once("error", reject); });
    await worker.terminate();
    console.log("done", hot);
  `;
  const child = spawnSync(process.execPath, [...execArgv, "--trace-opt", "--input-type=module", "-e", script], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  expect(child.error).toBeUndefined();
  expect(child.stderr).not.toMatch(/Error/);
  expect(child.status).toBe(0);
  expect(child.stdout).toContain("done true");
  const modes = (name: string): string[] =>
    child.stdout
      .split("\n")
      .filter((line) => line.startsWith("[compiling method") && line.includes(`<JSFunction ${name} `))
      .map((line) => /mode: ConcurrencyMode::k(\w+)/.exec(line)?.[1] ?? "?");
  return { mod: modes("modHotLoop"), host: modes("hostHotLoop") };
}

describe("isolates compile optimized code on their own thread", () => {
  it("makes mod isolates without V8's background compiler, and leaves it on for isolates made after", () => {
    const { mod, host } = compileModes(["--no-node-snapshot"]);
    expect(mod.length).toBeGreaterThan(0);
    expect(new Set(mod)).toEqual(new Set(["Synchronous"]));
    expect(host.length).toBeGreaterThan(0);
    expect(host).toContain("Concurrent");
  });

  // --predictable and --single-threaded check something on Node 24 only: Node 20 applies V8's
  // implications again on every setFlagsFromString, so there the flag stays off either way.
  it.each(["--no-concurrent-recompilation", "--noconcurrent_recompilation", "--no_concurrent_recompilation", "--concurrent-recompilation --no-concurrent-recompilation", "--predictable", "--single-threaded"])(
    "leaves the flag off in a process started with %s (or with a flag that implies it off)",
    (flags) => {
      const { mod, host } = compileModes(["--no-node-snapshot", ...flags.split(" ")]);
      expect(mod.length).toBeGreaterThan(0);
      expect(host.length).toBeGreaterThan(0);
      expect(new Set([...mod, ...host])).toEqual(new Set(["Synchronous"]));
    },
  );
});

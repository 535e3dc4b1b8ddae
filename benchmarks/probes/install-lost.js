// Probe: V8's background (concurrent) compiles in isolates that run only briefly at a time are
// almost never installed (finding 12). N bare isolated-vm isolates, each called K times in turn
// with a short call (a JSON batch of E small objects parsed, summed, results stringified); run
// once with V8's background compiler and once without (--no-concurrent-recompilation), each in a
// child Node with --trace-opt. Prints, per mode, the optimizing compiles V8 started in the
// isolates ("compiling method"), the ones it installed ("completed optimizing"; a compile on the
// isolate's own thread is installed as it ends), and the CPU per event of the calls.
//
//   node --no-node-snapshot benchmarks/probes/install-lost.js [isolates=100] [calls=1000] [events=10]
//
// Why: V8 installs a finished background compile when its isolate next checks for interrupts, but
// the request it leaves is kept in the isolate's per-thread stack guard, which a top-level
// v8::Locker clears on entry (Locker::Initialize -> StackGuard::ClearThread). isolated-vm enters an
// isolate with a Locker for every call, so a compile that finished while its isolate was not
// running waits until another one finishes during a call, and a function whose compile is pending
// is not tiered again meanwhile.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadIsolatedVm } from "../lib/ivm.js";

const [isolatesArg = "100", callsArg = "1000", eventsArg = "10"] = process.argv.slice(2);

if (process.env.INSTALL_LOST_CHILD === "1") {
  const ivm = loadIsolatedVm();
  const source = `
    function work(o) { let s = 0; for (const k in o) s += o[k]; return { s, t: s * 2, k: "x" + s }; }
    globalThis.run = function (json) { const a = JSON.parse(json); let out = ""; for (let i = 0; i < a.length; i++) out += JSON.stringify(work(a[i])); return out; };`;
  const isolates = [];
  for (let i = 0; i < Number(isolatesArg); i++) {
    const isolate = new ivm.Isolate({ memoryLimit: 32 });
    const context = isolate.createContextSync();
    isolate.compileScriptSync(source).runSync(context);
    isolates.push({ isolate, run: context.global.getSync("run", { reference: true }) });
  }
  const batch = JSON.stringify(Array.from({ length: Number(eventsArg) }, (_, i) => ({ a: i, b: 2, c: 3 })));
  const before = process.cpuUsage();
  for (let call = 0; call < Number(callsArg); call++) for (const x of isolates) x.run.applySync(undefined, [batch], { timeout: 1000 });
  const used = process.cpuUsage(before);
  for (const x of isolates) x.isolate.dispose();
  process.stderr.write(`${JSON.stringify({ us_per_event: (used.user + used.system) / (Number(callsArg) * isolates.length * Number(eventsArg)) })}\n`);
} else {
  const out = {};
  for (const [mode, flags] of [["background", []], ["on_own_thread", ["--no-concurrent-recompilation"]]]) {
    const child = spawnSync(process.execPath, ["--no-node-snapshot", ...flags, "--trace-opt", fileURLToPath(import.meta.url), isolatesArg, callsArg, eventsArg], {
      env: { ...process.env, INSTALL_LOST_CHILD: "1" },
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`${mode}: exit ${child.status}: ${child.stderr}`);
    const lines = child.stdout.split("\n");
    const count = (prefix) => lines.filter((line) => line.startsWith(prefix) && /<JSFunction (work|globalThis\.run) /.test(line)).length;
    const started = count("[compiling method");
    // A compile on the isolate's own thread is installed as it ends; V8 prints no "completed" line for it.
    const installed = flags.length === 0 ? count("[completed optimizing") : started;
    out[mode] = { compiles_started: started, compiles_installed: installed, ...JSON.parse(child.stderr.trim().split("\n").at(-1)) };
  }
  console.log(JSON.stringify({ node: process.version, isolates: Number(isolatesArg), calls: Number(callsArg), events: Number(eventsArg), ...out }, null, 2));
}

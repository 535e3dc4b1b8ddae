// Probe: does V8's optimized code for the isolates' functions get installed, and what does its
// compiling cost? Runs tick-threads.js (100 combat mods inline, 10-event ticks) in child processes
// under --trace-opt, with V8's concurrent (background) optimizing compiler (the default) and
// without it (--no-concurrent-recompilation: compiled on the isolate's own thread when marked),
// taking turns (A B A B ...). For the prelude's and the mod's hot functions it counts how often V8
// marked them for optimization, how often an optimized version was installed (its compile job
// finalized: "completed compiling") and the compile time of those (ms, summed over the 100
// isolates, as --trace-opt reports it), next to the run's CPU per mod-event by thread.
//
//   node --no-node-snapshot benchmarks/probes/tier-install.js [rounds] [warm] [ticks] [engineDir]
//
// Seen on Node 20 with isolated-vm: with the concurrent compiler, a function is marked once per
// isolate but only 2-80 % of those compiles are ever installed (the share varied from run to
// run), the others keep running unoptimized code and their background compile is wasted; with
// --no-concurrent-recompilation every one is installed. A job that finishes while its isolate is
// not entered loses its "install code" request: isolated-vm's top-level v8::Locker clears it
// (docs/benchmarks.md finding 12; probes/install-lost.js shows it with bare isolated-vm isolates,
// no modhost). Prints one JSON object.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const [rounds = "1", warm = "50", ticks = "300", engineDir] = process.argv.slice(2);
const PROBE = fileURLToPath(new URL("./tick-threads.js", import.meta.url));
const FUNCTIONS = ["dispatch", "runEvent", "toJson", "plainText", "objectText", "attack"];
const MODES = { concurrent: [], synchronous: ["--no-concurrent-recompilation"] };

function runOnce(flags) {
  const args = ["--no-node-snapshot", ...flags, "--trace-opt", PROBE, "modhost", warm, ticks, ...(engineDir ? [engineDir] : [])];
  const child = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`tick-threads.js failed (${child.status ?? child.signal}): ${child.stderr.slice(-2000)}`);
  const text = child.stdout;
  const result = JSON.parse(text.split("\n").find((line) => line.startsWith('{"runner"')) ?? "null");
  const functions = {};
  for (const name of FUNCTIONS) {
    const count = (re) => text.match(re)?.length ?? 0;
    // Printed when a compile job is finalized, which installs its code (both modes).
    let compileMs = 0;
    let installed = 0;
    const took = new RegExp(`completed compiling 0x[0-9a-f]+ <JSFunction ${name} \\(sfi = 0x[0-9a-f]+\\)> \\(target TURBOFAN\\) - took ([\\d.]+), ([\\d.]+), ([\\d.]+) ms`, "g");
    for (const m of text.matchAll(took)) {
      installed++;
      compileMs += Number(m[1]) + Number(m[2]) + Number(m[3]);
    }
    functions[name] = {
      marked: count(new RegExp(`marking 0x[0-9a-f]+ <JSFunction ${name} \\(`, "g")),
      installed,
      compile_ms_installed: Math.round(compileMs),
    };
  }
  return { cpu_us: result?.cpu_us, by_thread: result?.by_thread, functions };
}

const out = { warm: Number(warm), ticks: Number(ticks), engine: engineDir ?? "modhost", runs: [] };
for (let r = 0; r < Number(rounds); r++) {
  for (const [mode, flags] of Object.entries(MODES)) out.runs.push({ mode, ...runOnce(flags) });
}
console.log(JSON.stringify(out, null, 1));

// Probe: what isolated-vm's per-call `timeout` costs (finding 13). N bare isolates, each called in
// turn with a short call (a loop of 200 additions over a 300-character argument), with no timeout
// and with timeouts of several lengths. Prints the CPU per call of this process (every thread:
// isolated-vm arms a timer per call and a thread of its own wakes for each deadline, alive or
// not) and the wall time per call.
//
//   node --no-node-snapshot benchmarks/probes/call-timeout-cost.js [isolates=100] [seconds=3] [modes=none,t1000,t100,t20,t5]
//
// Why it matters: both the naive loader and modhost time every call, so the price is the same for
// both; it is one of the costs a 100-mod tick pays per mod and per tick (about 3.5 us of CPU a
// call on this VM, Node 24). isolated-vm keeps every timer, finished or not, in one queue until
// its deadline; laverdet/isolated-vm#572 reports a crash when very many deadlines fall due at once.
import { performance } from "node:perf_hooks";
import { loadIsolatedVm } from "../lib/ivm.js";

const [isolatesArg = "100", secondsArg = "3", modesArg = "none,t1000,t100,t20,t5"] = process.argv.slice(2);
const ivm = loadIsolatedVm();
const functions = [];
const isolates = [];
for (let i = 0; i < Number(isolatesArg); i++) {
  const isolate = new ivm.Isolate({ memoryLimit: 16 });
  isolates.push(isolate);
  const context = isolate.createContextSync();
  functions.push(isolate.compileScriptSync("(function (s) { let x = 0; for (let i = 0; i < 200; i++) x += i; return s.length + x; })").runSync(context, { reference: true }));
}
const argument = "x".repeat(300);

/** Calls every isolate in turn for `seconds`; `mode` "none" or "t<ms>". */
function run(mode, seconds) {
  const options = mode === "none" ? undefined : { timeout: Number(mode.slice(1)) };
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let calls = 0;
  let timedOut = 0;
  while (performance.now() - started < seconds * 1000) {
    for (const fn of functions) {
      try {
        fn.applySync(undefined, [argument], options);
      } catch (err) {
        // A short timeout can cut a call the machine paused (a page fault, another process).
        if (!/timed out/.test(String(err))) throw err;
        timedOut++;
      }
    }
    calls += functions.length;
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - started;
  return { mode, cpu_us_per_call: Math.round(((cpu.user + cpu.system) / calls) * 1000) / 1000, wall_us_per_call: Math.round(((wallMs * 1000) / calls) * 1000) / 1000, timed_out: timedOut };
}

const modes = modesArg.split(",");
for (const mode of modes) run(mode, 1); // warm-up: every isolate's function optimized
const rounds = [];
for (let r = 0; r < 2; r++) for (const mode of modes) rounds.push(run(mode, Number(secondsArg)));
console.log(JSON.stringify({ node: process.version, isolates: functions.length, rounds }, null, 1));
for (const isolate of isolates) isolate.dispose();

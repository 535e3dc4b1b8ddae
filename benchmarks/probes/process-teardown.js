// Probe: how long this machine takes from SIGKILL of a Node process to its "exit" event, by how
// much memory the process holds. The kernel frees a killed process's memory before it closes its
// pipes and reports its exit, so a crashed sandbox process's memory is time the host waits before
// it can restore anything (finding 12: most of a 100-mod crash-to-answer on the benchmark VM).
//
//   node benchmarks/probes/process-teardown.js [samples=5] [MB,MB,...=0,50,200]
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

const [samplesArg = "5", sizesArg = "0,50,200"] = process.argv.slice(2);
const out = {};
for (const mb of sizesArg.split(",").map(Number)) {
  const ms = [];
  for (let i = 0; i < Number(samplesArg); i++) {
    const child = spawn(process.execPath, ["-e", `const keep = []; for (let i = 0; i < ${mb}; i++) keep.push(Buffer.alloc(1 << 20, 1)); console.log("ready"); setInterval(() => {}, 1000);`], { stdio: ["ignore", "pipe", "ignore"] });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const killedAt = performance.now();
    const exited = new Promise((resolve) => child.once("exit", () => resolve(performance.now() - killedAt)));
    child.kill("SIGKILL");
    ms.push(Math.round((await exited) * 100) / 100);
  }
  ms.sort((a, b) => a - b);
  out[`extra_${mb}mb`] = { median_ms: ms[Math.floor(ms.length / 2)], samples_ms: ms };
}
console.log(JSON.stringify(out));

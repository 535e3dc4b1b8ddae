// Probe: what a page fault costs on this machine, and how many a mod-event takes when 100 mod
// isolates take turns (the young-generation shrinking that sandbox-node-flags.ts turns off).
//
//   node --no-node-snapshot benchmarks/probes/page-fault-cost.js [seconds=12]
//   node --no-node-snapshot --predictable benchmarks/probes/page-fault-cost.js [seconds=12]
//
// 1. Touches each 4 KiB page of 256 MiB of fresh memory: CPU per page fault.
// 2. 100 naive isolated-vm loaders of the combat mod (100 entities), 10-event ticks, one event-loop
//    turn between ticks (as a game's tick, or a sandbox process waiting for the host's next frame),
//    printing each second: CPU µs per mod-event and minor page faults per mod-event (/proc/self/stat).
// Prints one JSON object.
import { readFileSync } from "node:fs";
import { attackPayloads, combatMod } from "../lib/fixtures.js";
import { NaiveIvmLoader } from "../peers/naive-ivm.js";

const seconds = Number(process.argv[2] ?? 12);
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const minorFaults = () => Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")[7]);

const bytes = 256 * 1024 * 1024;
const memory = Buffer.allocUnsafeSlow(bytes);
const c0 = cpuUs();
for (let i = 0; i < bytes; i += 4096) memory[i] = 1;
const faultUs = (cpuUs() - c0) / (bytes / 4096);

const N = 100;
const mods = {};
for (let m = 0; m < N; m++) mods[`m${m}`] = combatMod(100);
const naive = await NaiveIvmLoader.create(mods);
const tick = attackPayloads(100, 10).map((p) => ["attack", p]);
const series = [];
try {
  for (let s = 0; s < seconds; s++) {
    const f0 = minorFaults();
    const t0 = Date.now();
    const u0 = cpuUs();
    let ticks = 0;
    while (Date.now() - t0 < 1000) {
      naive.emitBatch(tick);
      ticks++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const modEvents = ticks * N * tick.length;
    series.push({ cpu_us: +((cpuUs() - u0) / modEvents).toFixed(2), faults: +((minorFaults() - f0) / modEvents).toFixed(3) });
  }
} finally {
  naive.close();
}
console.log(JSON.stringify({ predictable: process.execArgv.includes("--predictable"), fault_cpu_us: +faultUs.toFixed(2), per_second: series }));

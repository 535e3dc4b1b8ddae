// The machine a run happened on.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";

export function machineInfo() {
  const cpus = os.cpus();
  let ivmVersion = "unknown";
  try {
    const require = createRequire(new URL("../../engine/package.json", import.meta.url));
    ivmVersion = JSON.parse(readFileSync(require.resolve("isolated-vm/package.json"), "utf8")).version;
  } catch {
    // keep "unknown"
  }
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    memoryTotalMb: Math.round(os.totalmem() / 2 ** 20),
    memoryFreeMb: Math.round(os.freemem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    isolatedVm: ivmVersion,
    execArgv: process.execArgv,
  };
}

/** VmRSS of a process in MB, from /proc/<pid>/status (Linux). */
export function rssMbOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

// The machine a run happened on.
import { readFileSync, readdirSync } from "node:fs";
import os from "node:os";

/** The machine, Node, V8 and isolated-vm of this run. Async: isolated-vm is asked for only now, after the engine snapshot (lib/engine.js). */
export async function machineInfo() {
  const { isolatedVmPackage } = await import("./ivm.js");
  const cpus = os.cpus();
  let ivmVersion = "unknown";
  let ivmAlias = "unknown";
  try {
    ({ version: ivmVersion, alias: ivmAlias } = isolatedVmPackage());
  } catch (err) {
    process.stderr.write(`[bench] isolated-vm does not load here: ${err.message}\n`);
  }
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    memoryTotalMb: Math.round(os.totalmem() / 2 ** 20),
    memoryFreeMb: Math.round(os.freemem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    nodeAbi: process.versions.modules,
    isolatedVm: ivmVersion,
    isolatedVmPackage: ivmAlias,
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

/**
 * CPU time (ns) used so far by every thread of process `pid`, from /proc/<pid>/task/<tid>/schedstat;
 * undefined if the process is gone.
 */
export function cpuNsOf(pid) {
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch (err) {
    if (err.code === "ENOENT") return undefined;
    throw err;
  }
  let total = 0;
  for (const tid of tids) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended in between
    }
  }
  return total;
}

/** CPU time (ns) used so far by this process (all threads). */
export function selfCpuNs() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
}

/**
 * The sandbox process ids of a modhost host: `host.sandboxPids` where the engine has a pool of
 * sandbox processes, else `[host.sandboxPid]`; [] with inline isolation or a peer.
 */
export function sandboxPidsOf(host) {
  if (Array.isArray(host?.sandboxPids)) return [...host.sandboxPids];
  return host?.sandboxPid !== undefined ? [host.sandboxPid] : [];
}

/**
 * The processes besides this one whose CPU a runner's work takes: a modhost host's sandbox
 * processes, or a peer's own child processes (`childPids()`, peers/naive-ivm-process.js).
 */
export function processPidsOf(runner) {
  return typeof runner?.childPids === "function" ? runner.childPids() : sandboxPidsOf(runner?.host);
}

/** CPU time (ns) used so far by all of `pids` together; undefined if one of them is gone. */
export function cpuNsOfAll(pids) {
  let total = 0;
  for (const pid of pids) {
    const ns = cpuNsOf(pid);
    if (ns === undefined) return undefined;
    total += ns;
  }
  return total;
}

/** CPU ns of this process and of `host`'s sandbox processes; undefined if one is gone. */
export function hostCpuNs(host) {
  const sandbox = cpuNsOfAll(sandboxPidsOf(host));
  return sandbox === undefined ? undefined : selfCpuNs() + sandbox;
}

/**
 * CPU ns that `work()` took in this process and `host`'s sandbox processes; undefined when a
 * sandbox process was restarted meanwhile (it took its CPU time with it).
 */
export async function cpuNsOfWork(host, work) {
  const pids = sandboxPidsOf(host).join(",");
  const before = hostCpuNs(host);
  await work();
  const after = hostCpuNs(host);
  if (before === undefined || after === undefined || sandboxPidsOf(host).join(",") !== pids) return undefined;
  return after - before;
}

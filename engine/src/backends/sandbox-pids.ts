import type { SandboxBackend } from "../sandbox/sandbox-backend.js";
import { ProcessBackend } from "./process-backend.js";
import { ProcessPool } from "./process-pool.js";

/** The pid of a backend's (first) sandbox process; undefined with inline isolation. */
export function sandboxPidOf(backend: SandboxBackend): number | undefined {
  return backend instanceof ProcessBackend || backend instanceof ProcessPool ? backend.pid : undefined;
}

/** The pids of every sandbox process of a backend, the first being sandboxPidOf's; empty inline. */
export function sandboxPidsOf(backend: SandboxBackend): number[] {
  if (backend instanceof ProcessPool) return backend.pids;
  const pid = sandboxPidOf(backend);
  return pid === undefined ? [] : [pid];
}

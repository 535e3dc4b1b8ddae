/**
 * The isolation a test gets unless it asks: "inline" (fast, isolates in the test process) when
 * this process may load isolated-vm, i.e. it was started with --no-node-snapshot (as vitest's
 * forks are with `execArgv: ["--no-node-snapshot"]`), and never when a V8 flag such as --expose-gc
 * would reach the isolates (the engine refuses that); "process" (a sandbox child process) otherwise.
 */
export function defaultIsolation(): "process" | "inline" {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (flags.some((flag) => flag === "--allow-natives-syntax" || flag.startsWith("--expose"))) return "process";
  return flags.includes("--no-node-snapshot") ? "inline" : "process";
}

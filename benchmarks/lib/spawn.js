// Runs a benchmark step in a fresh node process (fresh compile cache, fresh heap).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./child.js", import.meta.url));

/**
 * Runs `child(params)` of benchmarks/<moduleName>.js in a new `node --no-node-snapshot`; resolves
 * with its result. `timeoutMs` only catches a hung child: a fresh node with isolated-vm took over
 * 60 s to boot and answer at a load average of 30 on 2 cores, so the default leaves room for that.
 */
export function runChild(moduleName, params, timeoutMs = 180_000) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // inline isolation refuses V8 flags that reach isolates
    const proc = spawn(process.execPath, ["--no-node-snapshot", CHILD, moduleName, JSON.stringify(params)], {
      stdio: ["ignore", "pipe", "pipe"],
      env,
    });
    let out = "";
    let err = "";
    proc.stdout.setEncoding("utf8").on("data", (text) => (out += text));
    proc.stderr.setEncoding("utf8").on("data", (text) => (err += text));
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    proc.on("error", reject);
    // "close", not "exit": "exit" can come before the last of stdout was read (a loaded machine
    // showed a child that exited 0 after printing, with nothing read yet).
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`benchmark child ${moduleName} exited with ${code ?? signal}: ${err.trim().slice(-2000)}`));
      // The child's failures come back as counts; their first detail (lib/failures.js) is said here.
      for (const failure of err.split("\n").filter((l) => l.startsWith("[bench] failure "))) process.stderr.write(`${failure} (in the ${moduleName} child)\n`);
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`benchmark child ${moduleName} printed no JSON: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}

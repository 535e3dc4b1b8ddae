import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { packagePath } from "../util/package-path.js";
import { liveResources } from "../util/resource-registry.js";
import { TypeCheckProcess } from "./type-check-process.js";

/** A mod whose types take the checker a few seconds (100k template-literal members). */
const SLOW_TYPES = new Map([
  [
    "main.ts",
    `type L = "a"|"b"|"c"|"d"|"e"|"f"|"g"|"h"|"i"|"j";\ntype X = \`\${L}\${L}\${L}\${L}\`;\ntype O = { [K in X]: [K, K, K] };\nexport const v: O[X] = ["q", "q", "q"];\nexport default 1;\n`,
  ],
]);

/**
 * A mod whose types keep the checker busy for far longer than the test waits: each of 27 levels
 * doubles the type (26 levels: 16 s on a quiet 2-core machine).
 */
const ENDLESS_TYPES = new Map([
  [
    "main.ts",
    `type F<T, N extends 0[]> = N extends [0, ...infer R extends 0[]] ? F<(x: T) => T | [T], R> : T;\n` +
      ["string", "number", "boolean", "bigint", "symbol"]
        .slice(1)
        .map((kind, i, kinds) => `export const b${i} = (a: F<${i === 0 ? "string" : kinds[i - 1]}, [${Array(27).fill(0).join(",")}]>): F<${kind}, [${Array(27).fill(0).join(",")}]> => a;\n`)
        .join("") +
      "export default 1;\n",
  ],
]);

/** Is process `pid` gone (or a zombie nobody reaped: it runs no more)? */
function ended(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

describe("TypeCheckProcess", () => {
  it("close() after a check refused for its budget returns once that child has exited", async () => {
    const checker = new TypeCheckProcess({ extraTypeFiles: [], budgetMs: 5, memoryMb: 256 });
    await expect(checker.check("slow", SLOW_TYPES)).rejects.toMatchObject({ code: "E_TYPECHECK_BUDGET" });
    // The refused check's child is being killed; close() waits for it, however far it got.
    await checker.close();
    expect(liveResources()["type-check-process"] ?? 0).toBe(0);
    expect(checker.running).toBe(false);
    await expect(checker.check("slow", SLOW_TYPES)).rejects.toMatchObject({ code: "E_HOST_CLOSED" });
  }, 120_000);

  it("a child whose host is killed in the middle of a check kills itself", async () => {
    // A host stand-in: it forks the child, sends it a check that runs for minutes, tells us the child's pid and is
    // SIGKILLed, so nothing of it says goodbye. The child, blocked in the check, is an orphan.
    const script = `
      import { fork } from "node:child_process";
      const child = fork(${JSON.stringify(packagePath("dist/compile/type-check-child.js"))}, [JSON.stringify({ extraTypeFiles: [] })], { execArgv: [], stdio: ["ignore", "ignore", "ignore", "ipc"] });
      child.once("message", () => {
        child.send({ id: 1, mod: "endless", files: ${JSON.stringify([...ENDLESS_TYPES])} });
        process.stdout.write(String(child.pid) + "\\n", () => setTimeout(() => process.kill(process.pid, "SIGKILL"), 200));
      });`;
    const host = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    host.stdout.setEncoding("utf8");
    host.stdout.on("data", (chunk: string) => (out += chunk));
    await new Promise<void>((resolve) => host.once("close", () => resolve()));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    // Its watch thread looks once a second: 10 s is ample on a loaded machine, and far less than
    // the check would run (without the watch this fails: the orphan checks on for a minute).
    for (let i = 0; i < 100 && !ended(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ended(pid)).toBe(true);
  }, 120_000);
});

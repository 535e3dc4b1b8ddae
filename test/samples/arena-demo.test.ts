/**
 * `npm run demo`, small: the demo as a child process (the way a user runs it) with 5 bots for
 * about 3 s of play. Checks the story and the final JSON line; never how long anything took.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DEMO = fileURLToPath(new URL("../../samples/arena/dist/demo.js", import.meta.url));

/** Runs the built demo with `args`; resolves with its exit code and output. */
function runDemo(args: readonly string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

interface DemoJson {
  bots: number;
  disconnects: number;
  eventsSent: number;
  eventsProcessed: number;
  engineEvents: number;
  swaps: { ok: boolean; kind: string; from: string; to: string; changes: { kind: string; path: string }[]; error?: { code: string; file?: string; line?: number } }[];
  latencyMs: Record<"before" | "during" | "after", { p50: number; p99: number }>;
  actions: { sent: number; received: number };
  failures: string[];
}

describe("npm run demo", () => {
  it("plays with 5 bots while combat is patched three times, loses nothing, and ends with the JSON line", async () => {
    const run = await runDemo(["--bots", "5", "--seconds", "3"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    const result = JSON.parse(lines.at(-1) ?? "") as DemoJson;
    expect(result).toMatchObject({ bots: 5, disconnects: 0, failures: [] });
    expect(result.eventsSent).toBeGreaterThan(0);
    expect(result.eventsProcessed).toBe(result.eventsSent);
    expect(result.engineEvents).toBe(result.eventsSent); // modhost's own metrics agree
    expect(result.actions.received).toBe(result.actions.sent);
    expect(result.swaps.map((s) => [s.ok, s.kind, s.from, s.to])).toEqual([
      [true, "swap", "1.0.0", "1.1.0"],
      [true, "swap", "1.1.0", "2.0.0"],
      [false, "rejected", "2.0.0", "2.0.1"], // a refusal's `to` is the version it refused
    ]);
    expect(result.swaps[1]?.changes).toContainEqual({ kind: "added", path: "migrate" });
    expect(result.swaps[2]?.error).toMatchObject({ code: "E_TYPE", file: "main.ts", line: 32 });
    for (const phase of ["before", "during", "after"] as const) {
      expect(result.latencyMs[phase].p99).toBeGreaterThanOrEqual(result.latencyMs[phase].p50);
    }
    const story = lines.slice(0, -1).join("\n");
    expect(story).toContain("5 bots joined");
    expect(story).toContain("patch 1/3");
    expect(story).toContain("refused (E_TYPE)");
    expect(story).toContain("PASS");
  }, 180_000);

  it("prints its usage for --help and refuses bad arguments with exit code 2", async () => {
    const help = await runDemo(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--bots N");
    const bad = await runDemo(["--bots", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--bots must be a whole number from 1 to 500");
  }, 120_000);
});

import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessBackend } from "./process-backend.js";
import type { SandboxBridge } from "../model/wire.js";

const backends: ProcessBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});
const bridge: SandboxBridge = { log: () => undefined, capability: () => ({ late: false, reply: "{}" }) };

/** The command line a running process was started with. */
function argsOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
}
function flag(args: readonly string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

describe.skipIf(process.platform !== "linux")("sandbox process flags", () => {
  it("runs sandbox processes without --predictable by default", async () => {
    const backend = await ProcessBackend.create(bridge, { graceMs: 1000, warmSpare: false });
    backends.push(backend);
    const args = argsOf(backend.pid as number);
    expect(args).toContain("--no-concurrent-recompilation");
    expect(args).not.toContain("--predictable");
    expect(flag(args, "--hash-seed")).toBeUndefined();
  });

  it("with predictableGc, runs each sandbox process predictable but with seeds of its own", async () => {
    const seeds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const backend = await ProcessBackend.create(bridge, { graceMs: 1000, warmSpare: false, predictableGc: true });
      backends.push(backend);
      const pid = backend.pid;
      expect(pid).toBeTypeOf("number");
      const args = argsOf(pid as number);
      expect(args).toContain("--predictable");
      const random = flag(args, "--random-seed");
      const hash = flag(args, "--hash-seed");
      // 0 would mean "draw one", which --predictable turns into a fixed seed.
      expect(Number(random)).toBeGreaterThan(0);
      expect(BigInt(hash ?? "0")).toBeGreaterThan(0n);
      seeds.push(`${random}/${hash}`);
    }
    expect(seeds[0]).not.toBe(seeds[1]);
  });
});

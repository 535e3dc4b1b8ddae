import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { isolatedVmPackage, loadIsolatedVm, resolveIsolatedVm, SUPPORTED_NODE_MAJORS } from "./ivm.js";

// The release each Node ABI must get: engine/package.json's aliases and ivm.ts's table together.
const EXPECTED: Record<string, string> = { "115": "5.0.4", "127": "6.2.0", "137": "6.2.0", "147": "7.0.1" };
const abi = process.versions.modules;

describe(`isolated-vm on Node ${process.versions.node} (ABI ${abi})`, () => {
  it("loads the release made for this Node, and it runs code", () => {
    expect(isolatedVmPackage().version).toBe(EXPECTED[abi]);
    const ivm = loadIsolatedVm();
    const isolate = new ivm.Isolate({ memoryLimit: 8 });
    try {
      expect(isolate.createContextSync().evalSync("6 * 7")).toBe(42);
    } finally {
      isolate.dispose();
    }
  });

  it("names the supported Node versions when this Node has no release", () => {
    expect(SUPPORTED_NODE_MAJORS).toEqual([20, 22, 24, 26]);
    expect(() => resolveIsolatedVm("999", "99.1.0")).toThrow(expect.objectContaining({ code: "E_NODE_UNSUPPORTED", message: expect.stringContaining("no release for Node 99.1.0 (ABI 999); supported: Node 20, 22, 24, 26") }));
  });

  it("refuses another Node's release (not installed here, or built for another ABI) and says to run npm install", () => {
    // 5.0.4 is built for ABI 115 only; 6.x has no build for 115: neither loads on the other's Node.
    const foreign = abi === "115" ? "127" : "115";
    expect(() => resolveIsolatedVm(foreign, "x")).toThrow(expect.objectContaining({ code: "E_NODE_UNSUPPORTED", message: expect.stringContaining("run npm install with this Node") }));
  });

  it("refuses inline isolation in a process started without --no-node-snapshot, on every Node", async () => {
    const modsDir = await mkdtemp(join(tmpdir(), "modhost-ivm-test-"));
    try {
      const index = pathToFileURL(join(import.meta.dirname, "..", "..", "dist", "index.js")).href;
      const script = `const { ModHost } = await import(${JSON.stringify(index)});
        try { await ModHost.create({ modsDir: ${JSON.stringify(modsDir)}, isolation: "inline" }); console.log("created"); }
        catch (err) { console.log(err.code + " " + err.message); }`;
      const env = { ...process.env };
      delete env.NODE_OPTIONS;
      const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env, timeout: 60_000 });
      expect(stdout).toContain(`E_OPTIONS_INVALID isolation: "inline" needs this process to run with node --no-node-snapshot`);
    } finally {
      await rm(modsDir, { recursive: true, force: true });
    }
  });
});

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli-runner.js";

// The loop a new user goes through, with real npm: `npm run pack` in this repository, then
// `modhost init` in an empty folder outside it, `npm install` (the two tarballs, and typescript,
// vitest and isolated-vm from the registry; isolated-vm's binary comes from the repository's own
// build, see below), `npx tsc --noEmit` and `npm test`. And inside the repository:
// `npm test` in a scaffolded mod runs under the mod's own vitest config, not the root one.

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to completion outside vitest's environment (no VITEST*, no NODE_OPTIONS). */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
    for (const key of Object.keys(env)) if (key.startsWith("VITEST") || key === "NODE_OPTIONS" || key === "FORCE_COLOR" || key.startsWith("npm_")) delete env[key];
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      // Colors off the text: vitest and npm color even when told not to through some paths.
      resolve({ code, output: output.replace(/\x1b\[[0-9;]*m/g, "") });
    });
  });
}

const MINUTE = 60_000;

/** Copies the repository's built isolated-vm binaries (out/) into the same releases under `dir`. */
async function copyBuiltIsolatedVm(dir: string): Promise<void> {
  const modules = join(REPO, "node_modules");
  for (const name of await readdir(modules)) {
    const built = join(modules, name, "out");
    const target = join(dir, "node_modules", name);
    if (!name.startsWith("isolated-vm") || !existsSync(built) || !existsSync(target)) continue;
    const version = (file: string): Promise<string> => readFile(join(file, "package.json"), "utf8").then((text) => (JSON.parse(text) as { version: string }).version);
    expect(await version(target), `${name}: the scaffold installs the release the repository built`).toBe(await version(join(modules, name)));
    await cp(built, join(target, "out"), { recursive: true });
  }
}

describe("scaffold: from an empty folder outside the repository", () => {
  it("npm run pack, modhost init --packages, npm install, tsc --noEmit and npm test all pass", async () => {
    const root = await mkdtemp(join(tmpdir(), "modhost-outside-"));
    temps.push(root);
    expect(relative(REPO, root).startsWith("..")).toBe(true);

    // The built packages as tarballs (the test run already built them: no second build).
    const packages = join(root, "packages");
    const pack = await run(process.execPath, [join(REPO, "engine/scripts/pack-packages.mjs"), "--no-build", "--out", packages], REPO, 5 * MINUTE);
    expect(pack.code, pack.output).toBe(0);
    const packed = JSON.parse(pack.output.slice(pack.output.indexOf("{"))) as { packages: Record<string, string> };
    expect(Object.keys(packed.packages).sort()).toEqual(["@modhost/sdk", "modhost"]);

    const dir = join(root, "shop");
    const init = await runCli(["init", dir, "--packages", packages], { cwd: root });
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stdout).toContain("created mod shop");
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies).toEqual({
      "@modhost/sdk": `file:${join(packages, "modhost-sdk-0.1.0.tgz")}`,
      modhost: `file:${join(packages, "modhost-0.1.0.tgz")}`,
      typescript: expect.stringMatching(/^\^5\./),
      vitest: expect.stringMatching(/^\^4\./),
    });
    // Installed packages, not paths into this repository.
    expect(await readFile(join(dir, "tsconfig.json"), "utf8")).not.toContain("paths");

    // A real install from the tarballs and the registry, but without install scripts: on Node 20
    // npm compiles isolated-vm from source (7 minutes on a loaded 2-core machine), twice per CI
    // run. The same isolated-vm release is already built for this Node in the repository: its
    // binary is copied in, as npm's own build would have placed it.
    const install = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"], dir, 25 * MINUTE);
    expect(install.code, install.output).toBe(0);
    await copyBuiltIsolatedVm(dir);

    const tsc = await run("npx", ["--no-install", "tsc", "--noEmit"], dir, 5 * MINUTE);
    expect(tsc.code, tsc.output).toBe(0);

    const test = await run("npm", ["test"], dir, 5 * MINUTE);
    expect(test.code, test.output).toBe(0);
    expect(test.output).toMatch(/Tests\s+1 passed/);

    // The installed modhost command works from the mod's own node_modules.
    const check = await run("npx", ["--no-install", "modhost", "check", "."], dir, 2 * MINUTE);
    expect(check.code, check.output).toBe(0);
    expect(check.output).toContain("✓ shop 0.1.0");
  }, 40 * MINUTE);
});

describe("scaffold: inside the repository", () => {
  it("npm test in a scaffolded mod uses the mod's vitest config and finds its test", async () => {
    // A dot-folder at the root: no pattern of the root vitest config reaches it.
    await mkdir(join(REPO, ".tmp"), { recursive: true });
    const root = await mkdtemp(join(REPO, ".tmp", "scaffold-"));
    temps.push(root);
    const dir = join(root, "inmod");
    const init = await runCli(["init", dir]);
    expect(init.code, init.stdout + init.stderr).toBe(0);

    const test = await run("npm", ["test"], dir, 5 * MINUTE);
    expect(test.code, test.output).toBe(0);
    expect(test.output).toMatch(/Tests\s+1 passed/);
    expect(test.output).toContain("main.test.ts");
  }, 10 * MINUTE);

  it("init --packages refuses a folder without the tarballs, saying how to make them (exit 2)", async () => {
    const root = await mkdtemp(join(tmpdir(), "modhost-nopkg-"));
    temps.push(root);
    const result = await runCli(["init", join(root, "shop"), "--packages", root]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("holds no modhost-<version>.tgz tarball; make them with `npm run pack`");
    expect(existsSync(join(root, "shop"))).toBe(false);
  });
});

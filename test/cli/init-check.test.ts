import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";
import { runCli } from "../support/cli-runner.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

let mods: ModsDir | undefined;
const temps: string[] = [];
afterEach(async () => {
  await mods?.cleanup();
  mods = undefined;
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "modhost-cli-"));
  temps.push(dir);
  return dir;
}

/** Runs a node script to completion; resolves with its exit code and output. */
function runNode(args: string[], cwd: string, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.VITEST;
    delete env.VITEST_POOL_ID;
    delete env.VITEST_WORKER_ID;
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("modhost init", () => {
  it("scaffolds a mod whose own check, tsconfig and test pass", async () => {
    const root = await tempDir();
    const dir = join(root, "My Mod");
    const init = await runCli(["init", dir]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("created mod my-mod");
    for (const file of ["mod.json", "main.ts", "main.test.ts", "tsconfig.json", "package.json", ".gitignore"]) expect(existsSync(join(dir, file)), file).toBe(true);
    expect(JSON.parse(await readFile(join(dir, "mod.json"), "utf8"))).toEqual({ name: "my-mod", version: "0.1.0", entry: "main.ts", permissions: [], limits: {} });
    expect(await readFile(join(dir, "main.ts"), "utf8")).toContain("defineMod<State>");

    const check = await runCli(["check", dir]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toBe("✓ my-mod 0.1.0: compiles, type-checks and passes the safety rules\n");

    // The tsconfig sees the SDK's types: tsc type-checks main.ts in the editor's way.
    const tsc = await runNode([join(REPO, "node_modules/typescript/bin/tsc"), "-p", dir], dir);
    expect(tsc.code, tsc.output).toBe(0);

    // The scaffolded test runs the mod in a real sandbox (node_modules linked to this repo's).
    await symlink(join(REPO, "node_modules"), join(root, "node_modules"), "dir");
    const vitest = await runNode([join(REPO, "node_modules/vitest/vitest.mjs"), "run", "--root", dir, "--reporter", "dot"], dir);
    expect(vitest.code, vitest.output).toBe(0);
    expect(vitest.output).toMatch(/1 passed/);
  }, 120_000);

  it("refuses a folder that is not empty, and a name that cannot be a mod's (exit 2)", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "README.md"), "mine");
    const busy = await runCli(["init", dir]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain("is not empty");
    expect(await readFile(join(dir, "README.md"), "utf8")).toBe("mine");
    const badName = await runCli(["init", join(dir, "x"), "--name", "Not A Name"]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("cannot be a mod name");
  });
});

describe("modhost check", () => {
  it("reports an unsafe construct as file:line:col with a code frame (exit 1)", async () => {
    const main = `import { defineMod } from "@modhost/sdk";\nexport default defineMod({\n  on: {\n    run() {\n      return eval("1 + 1");\n    },\n  },\n});\n`;
    mods = await makeModsDir({ bad: simpleMod("bad", main) });
    const dir = join(mods.dir, "bad");
    const result = await runCli(["check", dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${dir}/main.ts:5:14 E_UNSAFE_CODE`);
    expect(result.stdout).toContain(`> 5 |       return eval("1 + 1");`);
    expect(result.stdout).toMatch(/\n {4}\| {14}\^\n/);
    expect(result.stdout).not.toMatch(/\x1b\[/); // not a terminal: no colors

    const json = await runCli(["check", dir, "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      mod: { name: "bad", version: "1.0.0", dir },
      diagnostics: [{ code: "E_UNSAFE_CODE", severity: "error", message: expect.stringContaining("eval"), file: "main.ts", line: 5, column: 14 }],
    });
  });

  it("reports type errors and manifest errors with their positions", async () => {
    const typed = `import { defineMod } from "@modhost/sdk";\ntype State = { n: number };\nexport default defineMod<State>({\n  init: () => { const n: number = "zero"; return { n }; },\n});\n`;
    mods = await makeModsDir({ typed: simpleMod("typed", typed), manifest: { "mod.json": `{\n  "name": "manifest",\n  "version": "one"\n}\n`, "main.ts": "export default {};" } });
    const types = await runCli(["check", join(mods.dir, "typed"), "--json"]);
    expect(types.code).toBe(1);
    expect(JSON.parse(types.stdout).diagnostics).toEqual([expect.objectContaining({ code: "E_TYPE", file: "main.ts", line: 4, column: 23 })]);

    const manifest = await runCli(["check", join(mods.dir, "manifest")]);
    expect(manifest.code).toBe(1);
    // The field is named once: the message starts with it, so no "#version" after the position.
    expect(manifest.stdout).toContain(`${join(mods.dir, "manifest")}/mod.json:3:3 E_MANIFEST_INVALID "version" must be`);
    expect(manifest.stdout).toContain(`> 3 |   "version": "one"`);
  });

  it("says what a swap would take with --against: noop, swap, migrate required, approval required", async () => {
    const changed = COUNTER_MAIN.replace("+ 1;", "+ 2;");
    const reshaped = COUNTER_MAIN.replace("hits: Record<string, number> }", "hits: Record<string, number>; total: number }").replace("init: () => ({ hits: {} })", "init: () => ({ hits: {}, total: 0 })");
    mods = await makeModsDir({
      v1: simpleMod("counter", COUNTER_MAIN),
      comments: simpleMod("counter", `// a comment\n${COUNTER_MAIN}`),
      code: simpleMod("counter", changed, { version: "1.1.0" }),
      shape: simpleMod("counter", reshaped, { version: "2.0.0" }),
      perms: simpleMod("counter", changed, { permissions: ["broadcast"] }),
    });
    const against = async (version: string): Promise<{ code: number | null; out: Record<string, unknown> }> => {
      const result = await runCli(["check", join(mods!.dir, version), "--against", join(mods!.dir, "v1"), "--json"]);
      return { code: result.code, out: JSON.parse(result.stdout) as Record<string, unknown> };
    };
    const [noop, swap, shape, perms] = await Promise.all([
      runCli(["check", join(mods.dir, "comments"), "--against", join(mods.dir, "v1")]),
      against("code"),
      against("shape"),
      against("perms"),
    ]);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toContain("against 1.0.0: noop: no semantic change");
    expect(swap).toMatchObject({ code: 0, out: { ok: true, swap: { kind: "swap", from: "1.0.0", to: "1.1.0", migrate: false, changes: [{ kind: "modified", path: "mod.json#version" }, { kind: "modified", path: "on.hit" }] } } });
    expect(shape).toMatchObject({ code: 1, out: { ok: false, swap: { kind: "migrate-required", stateShapeReasons: expect.arrayContaining(["type State"]) } } });
    expect(perms).toMatchObject({ code: 0, out: { ok: true, swap: { kind: "approval-required", permissionsAdded: ["broadcast"] } } });

  });

  it("exits 2 on usage errors: no folder, an unknown flag, a path that is not a folder", async () => {
    const none = await runCli(["check"]);
    expect(none).toMatchObject({ code: 2, stderr: expect.stringContaining("missing the mod folder to check") });
    const flag = await runCli(["check", ".", "--frobnicate"]);
    expect(flag).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--frobnicate'") });
    const missing = await runCli(["check", "/no/such/folder"]);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining("/no/such/folder") });
    const json = await runCli(["check", "--json"]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: "E_CLI_USAGE", message: expect.any(String) } });
  });

  it("colors only when asked: FORCE_COLOR on, NO_COLOR off", async () => {
    mods = await makeModsDir({ bad: simpleMod("bad", "export default {{") });
    const colored = await runCli(["check", join(mods.dir, "bad")], { env: { FORCE_COLOR: "1" } });
    expect(colored.stdout).toMatch(/\x1b\[31mE_SYNTAX\x1b\[39m/);
    const plain = await runCli(["check", join(mods.dir, "bad")], { env: { NO_COLOR: "1" } });
    expect(plain.stdout).not.toMatch(/\x1b\[/);
    expect(plain.stdout).toContain("E_SYNTAX");
  });
});

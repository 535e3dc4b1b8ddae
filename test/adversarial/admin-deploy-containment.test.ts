/**
 * Issue 10, finding 10: deploy checked for symbolic links, then wrote by path. A local process
 * flipping a sub-folder between a folder and a link got files written outside modsDir, and a
 * deploy refused because of a link had already overwritten the files sorted before it; a version
 * the host refused stayed on disk. Now a deploy is written into a fresh private folder and swapped
 * in; a refused version is swapped back out.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AdminClient, AdminServer, ModHost, type LogEvent, type ModHostOptions } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

const TOKEN = "test-token-0123456789abcdef";

let host: ModHost | undefined;
let admin: AdminServer | undefined;
let mods: ModsDir | undefined;
let client: AdminClient | undefined;
let outside: string | undefined;
let flipper: ChildProcess | undefined;
afterEach(async () => {
  if (flipper !== undefined && flipper.exitCode === null) {
    const exited = new Promise((resolve) => flipper!.once("exit", resolve));
    flipper.kill();
    await exited;
  }
  await client?.close();
  await admin?.close();
  await host?.close();
  await mods?.cleanup();
  if (outside !== undefined) await rm(outside, { recursive: true, force: true });
  host = admin = mods = client = outside = flipper = undefined;
});

async function setup(options: Partial<ModHostOptions> = {}): Promise<void> {
  mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN, { limits: { memoryMb: 32 } }) });
  outside = await mkdtemp(join(tmpdir(), "modhost-outside-"));
  host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", probation: false, ...options });
  admin = await AdminServer.create({ host, token: TOKEN, modsDir: mods.dir, rateBurst: 100_000, ratePerSecond: 100_000 });
  client = await AdminClient.connect(`http://127.0.0.1:${admin.port}`, TOKEN);
}

function manifest(version: string, extra: object = {}): string {
  return JSON.stringify({ name: "counter", version, entry: "main.ts", limits: { memoryMb: 32 }, ...extra });
}

/** Every file under `dir` (posix paths) with its content; links are listed as "-> link". */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      const path = prefix + entry.name;
      if (entry.isSymbolicLink()) out[path] = "-> link";
      else if (entry.isDirectory()) await walk(full, `${path}/`);
      else out[path] = await readFile(full, "utf8");
    }
  };
  await walk(dir, "");
  return out;
}

describe("deploy: nothing written outside the mod's folder, nothing left by a refusal (finding 10)", () => {
  it("a sub-folder that is a link to outside modsDir is replaced, never written through; files sorted before it are untouched until the swap", async () => {
    await setup();
    await symlink(outside!, join(mods!.dir, "counter", "lib"));
    await writeFile(join(mods!.dir, "counter", "README.md"), "keep me");
    const report = await client!.request("deploy", {
      files: { "mod.json": manifest("1.1.0"), "a.ts": "export const a = 1;\n", "lib/step.ts": "export const step = 5;\n", "main.ts": `import { step } from "./lib/step.ts";\n${COUNTER_MAIN.replace("+ 1;", "+ step;")}` },
    });
    expect(report).toMatchObject({ ok: true, to: "1.1.0" });
    expect(await readdir(outside!)).toEqual([]);
    const lib = await lstat(join(mods!.dir, "counter", "lib"));
    expect(lib.isDirectory() && !lib.isSymbolicLink()).toBe(true);
    expect(await readFile(join(mods!.dir, "counter", "README.md"), "utf8")).toBe("keep me");
    expect(await host!.emit("hit", { player: "p" })).toMatchObject([{ ok: true, value: 5 }]);
    expect((await readdir(mods!.dir)).filter((name) => name.startsWith("."))).toEqual([]);
  });

  it("a version the host refuses leaves the folder exactly as it was; a refused new mod leaves no folder", async () => {
    await setup();
    await writeFile(join(mods!.dir, "counter", "notes.txt"), "mine");
    const before = await snapshot(mods!.dir);
    const refused = await client!.request("deploy", { files: { "mod.json": manifest("2.0.0"), "main.ts": "export default {{{ not typescript", "extra.ts": "export const x = 1;\n" } });
    expect(refused).toMatchObject({ ok: false, error: { message: expect.stringContaining("deploy was undone") } });
    expect(await snapshot(mods!.dir)).toEqual(before);
    expect(host!.mods()).toMatchObject([{ name: "counter", version: "1.0.0", status: "running" }]);

    const newMod = await client!.request("deploy", { files: { "mod.json": JSON.stringify({ name: "fresh", version: "1.0.0" }), "main.ts": "export default {{{" } });
    expect(newMod).toMatchObject({ ok: false });
    expect(existsSync(join(mods!.dir, "fresh"))).toBe(false);
    expect(await snapshot(mods!.dir)).toEqual(before);
    expect(await host!.emit("hit", { player: "p" })).toMatchObject([{ mod: "counter", ok: true, value: 1 }]);
  });

  it("a version held for approval stays off disk until approved (a reload never proposes it again), and says so", async () => {
    await setup({ limits: { memoryMb: 128 } });
    const held = await client!.request("deploy", { files: { "mod.json": manifest("1.1.0", { limits: { memoryMb: 64 } }), "main.ts": COUNTER_MAIN.replace("+ 1;", "+ 2;") } });
    expect(held).toMatchObject({ ok: false, error: { code: "E_APPROVAL_REQUIRED", message: expect.stringContaining("held for approval: the mod's folder keeps the live version's files") } });
    expect(await readFile(join(mods!.dir, "counter", "main.ts"), "utf8")).not.toContain("+ 2;");
    expect((await readdir(mods!.dir)).filter((name) => name.startsWith("."))).toEqual([]);
    expect(await client!.request("reload", { mod: "counter" })).toMatchObject({ ok: true, kind: "noop" });
    expect(await client!.request("approve", { mod: "counter" })).toMatchObject({ ok: true, to: "1.1.0" });
    expect(await readFile(join(mods!.dir, "counter", "main.ts"), "utf8")).toContain("+ 2;");
  });

  it("with a watching host, the swap dance never unloads the mod, and every deploy gets the right answer", async () => {
    await setup({ watch: true });
    const logs: LogEvent[] = [];
    host!.on("log", (line) => logs.push(line));
    let expected = 0;
    for (let i = 1; i <= 6; i++) {
      const good = i % 2 === 1;
      const files = good ? { "mod.json": manifest(`1.${i}.0`), "main.ts": COUNTER_MAIN.replace("+ 1;", `+ ${i};`) } : { "mod.json": manifest(`1.${i}.0`), "main.ts": "export default {{{" };
      const report = await client!.request("deploy", { files });
      expect(report.ok, `deploy ${i}`).toBe(good);
      if (good) expected += i;
      else expected += i - 1;
      const [result] = await host!.emit("hit", { player: "p" });
      expect(result, `after deploy ${i}`).toMatchObject({ ok: true, value: expected });
    }
    // Let the watcher settle, then check nothing was unloaded and the last good version is live.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(logs.filter((l) => l.message.includes("unloaded"))).toEqual([]);
    expect(host!.mods()).toMatchObject([{ name: "counter", version: "1.5.0", status: "running" }]);
    expect(await readFile(join(mods!.dir, "counter", "main.ts"), "utf8")).toContain("+ 5;");
  }, 120_000);

  it("a local process flipping a sub-folder between a folder and a link never gets a file written outside modsDir", async () => {
    await setup();
    const lib = join(mods!.dir, "counter", "lib");
    await mkdir(lib);
    // Flips `lib` between a real folder and a link to `outside` as fast as it can, in its own process.
    const script = `
      const fs = require("node:fs");
      const [lib, outside] = process.argv.slice(1);
      for (;;) {
        try { fs.rmSync(lib, { recursive: true, force: true }); fs.symlinkSync(outside, lib); } catch {}
        try { fs.rmSync(lib, { recursive: true, force: true }); fs.mkdirSync(lib); } catch {}
      }`;
    flipper = spawn(process.execPath, ["-e", script, lib, outside!], { stdio: "ignore" });
    const files = { "mod.json": manifest("1.1.0"), "main.ts": COUNTER_MAIN, "lib/a.ts": "export const a = 1;\n", "lib/b.ts": "export const b = 1;\n" };
    let deploys = 0;
    const until = Date.now() + 4000;
    while (Date.now() < until || deploys < 20) {
      await client!.request("deploy", { files }).catch(() => undefined);
      deploys++;
    }
    expect(await readdir(outside!)).toEqual([]);
    expect(await host!.emit("hit", { player: "p" })).toMatchObject([{ ok: true }]);
  }, 120_000);
});

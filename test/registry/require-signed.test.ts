import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModHost, type SwapReport } from "modhost";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { COUNTER_MAIN } from "../support/mod-fixture.js";
import { makePublisher, writeTrust, type Publisher } from "../support/signed-mod.js";

const manifest = (name: string, version: string): object => ({ name, version, entry: "main.ts", permissions: [] });

describe("requireSigned: unsigned code is refused from every route (E_UNSIGNED)", () => {
  let publisher: Publisher;
  let work: string;
  let v1: { file: string; sha256: string };
  let v2: { file: string; sha256: string };
  let trust: string;
  beforeAll(async () => {
    publisher = await makePublisher();
    work = await mkdtemp(join(tmpdir(), "modhost-signed-"));
    v1 = await publisher.pack("v1", { "mod.json": manifest("counter", "1.0.0"), "main.ts": COUNTER_MAIN }, { name: "@studio/counter" });
    v2 = await publisher.pack("v2", { "mod.json": manifest("counter", "1.1.0"), "main.ts": COUNTER_MAIN.replace("return state.hits[e.player];", "return state.hits[e.player] * 10;") }, { name: "@studio/counter" });
    trust = await writeTrust(join(work, "trust.json"), [{ key: publisher.publicKey, mods: ["counter"] }]);
  }, 120_000);
  afterAll(async () => {
    await publisher?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("through the API: an unsigned folder is refused, an unpacked signed package loads and says where it came from", async () => {
    const modsDir = join(work, "api-mods");
    await mkdir(join(modsDir, "legacy"), { recursive: true });
    await writeFile(join(modsDir, "legacy", "mod.json"), JSON.stringify(manifest("legacy", "1.0.0")));
    await writeFile(join(modsDir, "legacy", "main.ts"), COUNTER_MAIN);
    await mkdir(join(modsDir, "counter"));
    execFileSync("tar", ["xzf", v1.file, "-C", join(modsDir, "counter"), "--strip-components=1"]);
    await expect(ModHost.create({ modsDir, requireSigned: true })).rejects.toMatchObject({ code: "E_OPTIONS_INVALID", location: { field: "requireSigned" } });
    const host = await ModHost.create({ modsDir, isolation: "inline", probation: false, requireSigned: true, registry: { trustedKeys: trust } });
    try {
      const mods = host.mods();
      expect(mods.find((m) => m.name === "legacy")).toMatchObject({ status: "faulted", error: { code: "E_UNSIGNED", message: expect.stringMatching(/requireSigned is on and .*legacy holds unsigned code \(no modhost-listing\.json\)/) } });
      expect(mods.find((m) => m.name === "counter")).toMatchObject({ status: "running", origin: { source: "folder", package: "@studio/counter", version: "1.0.0", keyId: publisher.keyId } });
      // An edit on disk breaks the signed listing: the reload is refused and 1.0.0 keeps serving.
      await writeFile(join(modsDir, "counter", "main.ts"), COUNTER_MAIN.replace("+ 1", "+ 2"));
      const report = await host.reload("counter");
      expect(report).toMatchObject({ ok: false, error: { code: "E_UNSIGNED", message: expect.stringMatching(/main\.ts differs from its signed listing/) } });
      expect(await host.emit("hit", { player: "a" })).toMatchObject([{ ok: true, value: 1 }]);
      // installPackage verifies a tarball and deploys it; a tampered one is refused before anything is written.
      const tampered = Buffer.from(await readFile(v2.file));
      tampered[tampered.length - 30] = (tampered[tampered.length - 30] ?? 0) ^ 0xff;
      await expect(host.installPackage(tampered)).rejects.toMatchObject({ code: expect.stringMatching(/^E_PACKAGE_INVALID$|^E_LISTING_MISMATCH$/) });
      expect(await host.installPackage(await readFile(v2.file))).toMatchObject({ ok: true, from: "1.0.0", to: "1.1.0" });
      expect(host.mods().find((m) => m.name === "counter")).toMatchObject({ version: "1.1.0", origin: { source: "deploy", package: "@studio/counter", version: "1.1.0" } });
      expect(await host.emit("hit", { player: "a" })).toMatchObject([{ ok: true, value: 20 }]);
    } finally {
      await host.close();
    }
  }, 120_000);

  it("the watcher: a new unsigned folder is refused, a new unpacked signed package loads", async () => {
    const modsDir = join(work, "watch-mods");
    await mkdir(modsDir, { recursive: true });
    const host = await ModHost.create({ modsDir, isolation: "inline", probation: false, watch: true, requireSigned: true, registry: { trustedKeys: trust } });
    try {
      const reports: SwapReport[] = [];
      host.on("swap", (report) => reports.push(report));
      const until = async (probe: () => boolean): Promise<void> => {
        for (let i = 0; i < 400 && !probe(); i++) await new Promise((r) => setTimeout(r, 25));
        expect(probe()).toBe(true);
      };
      await mkdir(join(modsDir, "sneaky"));
      await writeFile(join(modsDir, "sneaky", "main.ts"), COUNTER_MAIN);
      await writeFile(join(modsDir, "sneaky", "mod.json"), JSON.stringify(manifest("sneaky", "1.0.0")));
      await until(() => reports.some((r) => r.mod === "sneaky"));
      expect(reports.find((r) => r.mod === "sneaky")).toMatchObject({ ok: false, error: { code: "E_UNSIGNED" } });
      expect(host.mods().find((m) => m.name === "sneaky")).toMatchObject({ status: "faulted", error: { code: "E_UNSIGNED" } });
      const staged = join(work, "staged-counter");
      await mkdir(staged, { recursive: true });
      execFileSync("tar", ["xzf", v1.file, "-C", staged, "--strip-components=1"]);
      execFileSync("mv", [staged, join(modsDir, "counter")]);
      // The load's report comes once the mod is up (type-checked, then started): a mod is listed
      // from the moment its folder is read.
      await until(() => reports.some((r) => r.mod === "counter"));
      expect(reports.find((r) => r.mod === "counter")).toMatchObject({ ok: true });
      expect(await host.emit("hit", { player: "b" })).toEqual([expect.objectContaining({ mod: "counter", ok: true, value: 1 })]);
    } finally {
      await host.close();
    }
  }, 120_000);

  it("through the CLI: serve --require-signed refuses an unsigned deploy and accepts a packed tarball; status shows the origin", async () => {
    const modsDir = join(work, "cli-mods");
    await mkdir(modsDir, { recursive: true });
    const unsigned = join(work, "unsigned-counter");
    await mkdir(unsigned, { recursive: true });
    await writeFile(join(unsigned, "mod.json"), JSON.stringify(manifest("counter", "1.0.0")));
    await writeFile(join(unsigned, "main.ts"), COUNTER_MAIN);
    const server = CliProcess.start(["serve", modsDir, "--json", "--isolation", "process", "--trust", trust, "--require-signed"]);
    try {
      const listening = await server.waitFor(() => server.jsonLines().find((l) => l.type === "listening") as { url: string; tokenFile: string } | undefined, 60_000);
      const remote = ["--server", listening.url, "--token-file", listening.tokenFile];
      const refused = await runCli(["deploy", unsigned, ...remote, "--json"]);
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, error: { code: "E_UNSIGNED", message: expect.stringMatching(/holds unsigned code.*the deploy was undone/) } });
      const deployed = await runCli(["deploy", v1.file, ...remote]);
      expect(deployed.code, deployed.stderr).toBe(0);
      const status = await runCli(["status", ...remote]);
      expect(status.stdout).toMatch(new RegExp(`counter\\s+1\\.0\\.0\\s+running\\s+\\w+\\s+deploy @studio/counter@1\\.0\\.0 key ${publisher.keyId}`));
    } finally {
      await server.stop("SIGTERM");
    }
  }, 120_000);
});

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModHost, type LogEvent } from "modhost";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { startRedis } from "../support/redis-server.js";
import { makePublisher, writeTrust, type Publisher } from "../support/signed-mod.js";
import { counterSource, manifest } from "./fleet-harness.js";

describe("a fleet server whose Redis is down", () => {
  let work: string;
  let publisher: Publisher;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "modhost-fleet-down-"));
    publisher = await makePublisher();
  }, 120_000);
  afterAll(async () => {
    await publisher?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("starts, serves what it holds, says so, and joins once Redis is there", async () => {
    const redis = await startRedis();
    await redis.kill();
    const modsDir = join(work, "mods");
    await mkdir(join(modsDir, "counter"), { recursive: true });
    await writeFile(join(modsDir, "counter", "mod.json"), JSON.stringify(manifest("1.0.0")));
    await writeFile(join(modsDir, "counter", "main.ts"), counterSource("1.0.0"));
    const trust = await writeTrust(join(work, "trust.json"), [{ key: publisher.publicKey, mods: ["counter"] }]);
    const host = await ModHost.create({ modsDir, stateDir: join(work, "state"), isolation: "inline", registry: { url: "http://127.0.0.1:9/", trustedKeys: trust }, fleet: { redis: redis.url, server: "lonely", heartbeatMs: 100, backstopMs: 200 } });
    const logs: LogEvent[] = [];
    host.on("log", (l) => logs.push(l));
    try {
      expect((await host.emit("hit", {}))[0]).toMatchObject({ ok: true, version: "1.0.0" });
      for (let i = 0; i < 100 && !logs.some((l) => /unreachable/.test(l.message)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(logs.find((l) => /unreachable/.test(l.message))?.message).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable .*serving the current versions/);
      await redis.restart();
      for (let i = 0; i < 200 && !logs.some((l) => /reachable again/.test(l.message)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(logs.some((l) => /reachable again/.test(l.message))).toBe(true);
      // Its heartbeat is there now.
      for (let i = 0; i < 100; i++) {
        const status = await runCli(["fleet", "status", "--fleet", redis.url, "--json"]);
        if ((JSON.parse(status.stdout) as { servers: { server: string }[] }).servers.some((s) => s.server === "lonely")) break;
        if (i === 99) throw new Error("no heartbeat");
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await host.emit("hit", {}))[0]).toMatchObject({ ok: true, value: { n: 2 } });
    } finally {
      await host.close();
      await redis.stop();
    }
  }, 120_000);

  it("the fleet option is checked: a bad server id or no registry is E_OPTIONS_INVALID", async () => {
    await expect(ModHost.create({ modsDir: work, isolation: "inline", fleet: { redis: "redis://x", server: "a|b" } })).rejects.toMatchObject({ code: "E_OPTIONS_INVALID" });
    await expect(ModHost.create({ modsDir: work, isolation: "inline", fleet: { redis: "redis://x", server: "s1" } })).rejects.toMatchObject({ code: "E_OPTIONS_INVALID", message: /needs registry\.url/ });
    await expect(ModHost.create({ modsDir: work, isolation: "inline", registry: { url: "http://127.0.0.1:9/", trustedKeys: { keys: [] } }, fleet: { redis: "http://x", server: "s1" } })).rejects.toMatchObject({ code: "E_OPTIONS_INVALID" });
  });

  it("modhost serve --fleet --server-id --fleet-group joins: its heartbeat shows in modhost fleet status", async () => {
    const redis = await startRedis();
    const modsDir = join(work, "cli-mods");
    await mkdir(join(modsDir, "counter"), { recursive: true });
    await writeFile(join(modsDir, "counter", "mod.json"), JSON.stringify(manifest("1.0.0")));
    await writeFile(join(modsDir, "counter", "main.ts"), counterSource("1.0.0"));
    const trust = await writeTrust(join(work, "cli-trust.json"), [{ key: publisher.publicKey, mods: ["counter"] }]);
    const server = CliProcess.start(["serve", modsDir, "--json", "--registry", "http://127.0.0.1:9/", "--trust", trust, "--fleet", redis.url, "--server-id", "cli-1", "--fleet-group", "eu"]);
    try {
      await server.waitFor(() => server.jsonLines().find((l) => l.type === "listening"), 60_000);
      let servers: { server: string; group: string | null }[] = [];
      for (let i = 0; i < 100 && !servers.some((s) => s.server === "cli-1"); i++) {
        const status = await runCli(["fleet", "status", "--fleet", redis.url, "--json"]);
        servers = (JSON.parse(status.stdout) as { servers: { server: string; group: string | null }[] }).servers;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(servers).toContainEqual(expect.objectContaining({ server: "cli-1", group: "eu" }));
      const bad = await runCli(["serve", modsDir, "--server-id", "x"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--server-id and --fleet-group go with --fleet/);
    } finally {
      await server.stop("SIGTERM");
      await redis.stop();
    }
  }, 120_000);
});

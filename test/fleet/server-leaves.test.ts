import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFleet, FleetStore, ModHost } from "modhost";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { makePublisher, writeTrust, type Publisher } from "../support/signed-mod.js";
import { counterSource, manifest } from "./fleet-harness.js";

describe("a fleet server that stops", () => {
  let work: string;
  let publisher: Publisher;
  let redis: TestRedis;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "modhost-fleet-leave-"));
    [publisher, redis] = await Promise.all([makePublisher(), startRedis()]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([publisher?.cleanup(), redis?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("leaves the live heartbeats at once (not after their expiry) and is listed as expired", async () => {
    const modsDir = join(work, "mods");
    await mkdir(join(modsDir, "counter"), { recursive: true });
    await writeFile(join(modsDir, "counter", "mod.json"), JSON.stringify(manifest("1.0.0")));
    await writeFile(join(modsDir, "counter", "main.ts"), counterSource("1.0.0"));
    const trust = await writeTrust(join(work, "trust.json"), [{ key: publisher.publicKey, mods: ["counter"] }]);
    const connection = connectFleet(redis.url);
    const store = new FleetStore(connection);
    // A heartbeat lives three periods (6 s here): without the removal it would still be listed.
    const host = await ModHost.create({ modsDir, isolation: "inline", registry: { url: "http://127.0.0.1:9/", trustedKeys: trust }, fleet: { redis: redis.url, server: "leaver", heartbeatMs: 2000, backstopMs: 60_000 } });
    try {
      const live = async (): Promise<string[]> => (await store.heartbeats()).map((b) => b.server);
      for (let i = 0; i < 300 && !(await live()).includes("leaver"); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await live()).toEqual(["leaver"]);
      await host.close();
      expect(await live()).toEqual([]);
      const expired = await store.expired([]);
      expect(expired.map((e) => e.server)).toEqual(["leaver"]);
      expect(expired[0]!.lastSeen).toBeLessThanOrEqual(Date.now());
      // No heartbeat in flight at close writes it back.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await live()).toEqual([]);
    } finally {
      await host.close();
      await connection.close();
    }
  }, 120_000);
});

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COUNTER_MAIN } from "../support/mod-fixture.js";
import { makePublisher, type Publisher } from "../support/signed-mod.js";
import { startRegistry, type TestRegistry } from "../support/verdaccio.js";
import { allStarted } from "../support/all-started.js";
import { PackageCache, RegistryClient, parseTrustedKeys, resolveSpec, verifyPackage } from "modhost";

describe("a real npm registry (Verdaccio) and the real npm publish", () => {
  let registry: TestRegistry;
  let publisher: Publisher;
  beforeAll(async () => {
    [registry, publisher] = await allStarted<[TestRegistry, Publisher]>([startRegistry(), makePublisher()], [(r) => r.stop(), (p) => p.cleanup()]);
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    await publisher?.cleanup();
  });

  it("a packed mod published with npm comes back byte for byte, verifies, and an unchanged packument costs a 304", async () => {
    const packed = await publisher.pack("counter", { "mod.json": { name: "counter", version: "1.0.0", entry: "main.ts", permissions: [] }, "main.ts": COUNTER_MAIN }, { name: "@studio/counter" });
    await registry.publish(packed.file, "canary");
    const client = new RegistryClient({ url: registry.url, token: registry.token });
    const first = await client.packument("@studio/counter");
    if (first.status !== "ok") throw new Error("expected a packument");
    expect(first.etag).toBeTypeOf("string");
    const entry = resolveSpec(first.packument, "canary");
    expect(entry.version).toBe("1.0.0");
    expect(entry.integrity).toBe(packed.integrity);
    const tarball = await client.tarball(entry, "@studio/counter");
    expect(tarball.equals(await readFile(packed.file))).toBe(true);
    const trust = parseTrustedKeys({ keys: [{ key: publisher.publicKey, mods: ["counter"] }] });
    const verified = await verifyPackage(tarball, { trust, packageName: "@studio/counter", integrity: entry.integrity, version: "1.0.0" });
    expect(verified.manifest.name).toBe("counter");
    expect(verified.keyId).toBe(publisher.keyId);
    expect(verified.sha256).toBe(packed.sha256);

    const again = await client.packument("@studio/counter", first.etag);
    expect(again.status).toBe("not-modified");
    expect(client.counters).toMatchObject({ packumentRequests: 2, notModified: 1, tarballDownloads: 1 });
  });

  it("without the token the registry refuses access (E_REGISTRY_RESPONSE), with a wrong registry URL it is unavailable", async () => {
    const anonymous = new RegistryClient({ url: registry.url });
    await expect(anonymous.packument("@studio/counter")).rejects.toMatchObject({ code: "E_REGISTRY_RESPONSE" });
    const nowhere = new RegistryClient({ url: "http://127.0.0.1:9/", retries: 1, backoffMs: 10 });
    await expect(nowhere.packument("@studio/counter")).rejects.toMatchObject({ code: "E_REGISTRY_UNAVAILABLE" });
    expect(nowhere.counters.retries).toBe(1);
  });

  it("the package cache keeps a verified package by content and hands it back", async () => {
    const packed = await readFile(join(publisher.dir, "out", "counter", "studio-counter-1.0.0.tgz"));
    const cache = new PackageCache(join(publisher.dir, "cache"));
    const sha256 = (await verifyPackage(packed, { trust: parseTrustedKeys({ keys: [{ key: publisher.publicKey, mods: ["*"] }] }) })).sha256;
    await cache.put(packed, { name: "@studio/counter", version: "1.0.0", sha256, keyId: publisher.keyId, mod: "counter", integrity: "x" });
    expect((await cache.ref("@studio/counter"))?.sha256).toBe(sha256);
    expect((await cache.blob(sha256))?.equals(packed)).toBe(true);
    expect(await cache.ref("@studio/other")).toBeUndefined();
  });
});

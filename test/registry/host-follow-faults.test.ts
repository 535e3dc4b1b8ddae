import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModHost, type LogEvent } from "modhost";
import { CraftedRegistry } from "../support/crafted-registry.js";
import { MAIN, buildPackage, packageFiles, rawTarball } from "../support/package-builder.js";
import { generateKeyPair, publicKeyLine } from "../../engine/src/registry/minisign-key.js";
import { signMessage } from "../../engine/src/registry/minisign-signature.js";
import { LISTING_FILE, SIGNATURE_FILE, buildListing, serializeListing } from "../../engine/src/registry/package-listing.js";
import { writeTarball } from "../../engine/src/registry/package-tarball.js";

const NAME = "@studio/counter";
const key = generateKeyPair();
const expiredKey = generateKeyPair();
const revokedKey = generateKeyPair();
const narrowKey = generateKeyPair();
const strangerKey = generateKeyPair();
const sri = (b: Buffer): string => `sha512-${createHash("sha512").update(b).digest("base64")}`;
const pkg = (version: string, extra: Parameters<typeof buildPackage>[0] = {}) => buildPackage({ key, mod: "counter", packageName: NAME, version, main: MAIN.replace("return s.n;", `return { n: s.n, v: "${version}" };`), ...extra });

/** Each fault: what the registry serves (as the version the tag names) and the code it must get. */
const FAULTS: { what: string; code: string; serve: (r: CraftedRegistry, v1: Buffer) => Promise<void> }[] = [
  { what: "a registry answering 503", code: "E_REGISTRY_UNAVAILABLE", serve: async (r) => r.set(`/${NAME}`, { body: Buffer.from("down"), status: 503 }) },
  { what: "a registry too slow to answer", code: "E_REGISTRY_UNAVAILABLE", serve: async (r) => r.set(`/${NAME}`, { body: Buffer.from("{}"), delayMs: 2000 }) },
  { what: "a malformed packument", code: "E_REGISTRY_RESPONSE", serve: async (r) => r.set(`/${NAME}`, { body: Buffer.from(`{"name":"${NAME}","dist-tags":[`) }) },
  { what: "a tag naming a missing version", code: "E_REGISTRY_RESPONSE", serve: async (r, v1) => r.publish(NAME, [{ version: "1.0.0", tarball: v1 }], { latest: "1.0.9" }) },
  { what: "a lying integrity", code: "E_PACKAGE_INTEGRITY", serve: async (r, v1) => r.publish(NAME, [{ version: "1.0.1", tarball: (await pkg("1.0.1")).tarball, integrity: sri(v1) }], { latest: "1.0.1" }) },
  { what: "a truncated tarball (integrity made to match)", code: "E_PACKAGE_INVALID", serve: async (r) => r.publish(NAME, [{ version: "1.0.2", tarball: (await pkg("1.0.2")).tarball.subarray(0, 300) }], { latest: "1.0.2" }) },
  { what: "an oversized tarball", code: "E_REGISTRY_RESPONSE", serve: async (r) => r.publish(NAME, [{ version: "1.0.3", tarball: Buffer.alloc(17 * 1024 * 1024, 1) }], { latest: "1.0.3" }) },
  { what: "a tarball with a traversal path", code: "E_PACKAGE_INVALID", serve: async (r) => r.publish(NAME, [{ version: "1.0.4", tarball: await rawTarball([{ header: { name: "package/../../../tmp/pwned.ts" }, body: Buffer.from("x") }]) }], { latest: "1.0.4" }) },
  { what: "a tarball with a symlink", code: "E_PACKAGE_INVALID", serve: async (r) => r.publish(NAME, [{ version: "1.0.5", tarball: await rawTarball([{ header: { name: "package/main.ts", type: "symlink", linkname: "/etc/passwd" } }]) }], { latest: "1.0.5" }) },
  { what: "a listing that omits a file", code: "E_LISTING_MISMATCH", serve: async (r) => r.publish(NAME, [{ version: "1.0.6", tarball: (await pkg("1.0.6", { tamper: (f) => f.set("evil.ts", Buffer.from("export {}")) })).tarball }], { latest: "1.0.6" }) },
  { what: "a listing that names a missing file", code: "E_LISTING_MISMATCH", serve: async (r) => r.publish(NAME, [{ version: "1.0.7", tarball: (await pkg("1.0.7", { tamper: (f) => f.delete("main.ts") })).tarball }], { latest: "1.0.7" }) },
  { what: "a tampered file", code: "E_LISTING_MISMATCH", serve: async (r) => r.publish(NAME, [{ version: "1.0.8", tarball: (await pkg("1.0.8", { tamper: (f) => f.set("main.ts", Buffer.from("// evil")) })).tarball }], { latest: "1.0.8" }) },
  { what: "a malformed signature", code: "E_SIGNATURE_INVALID", serve: async (r) => r.publish(NAME, [{ version: "1.1.0", tarball: (await pkg("1.1.0", { tamper: (f) => f.set(SIGNATURE_FILE, Buffer.from("garbage")) })).tarball }], { latest: "1.1.0" }) },
  { what: "a wrong signature (listing re-signed by nobody)", code: "E_SIGNATURE_INVALID", serve: async (r) => {
    const { files } = packageFiles({ key, mod: "counter", packageName: NAME, version: "1.1.1" });
    const other = packageFiles({ key, mod: "counter", packageName: NAME, version: "1.1.1", main: "// other" });
    files.set(SIGNATURE_FILE, other.files.get(SIGNATURE_FILE)!);
    r.publish(NAME, [{ version: "1.1.1", tarball: await writeTarball(files) }], { latest: "1.1.1" });
  } },
  { what: "an unknown key", code: "E_KEY_UNTRUSTED", serve: async (r) => r.publish(NAME, [{ version: "1.1.2", tarball: (await pkg("1.1.2", { key: strangerKey })).tarball }], { latest: "1.1.2" }) },
  { what: "a key not scoped to the mod", code: "E_KEY_UNTRUSTED", serve: async (r) => r.publish(NAME, [{ version: "1.1.3", tarball: (await pkg("1.1.3", { key: narrowKey })).tarball }], { latest: "1.1.3" }) },
  { what: "an expired key", code: "E_KEY_EXPIRED", serve: async (r) => r.publish(NAME, [{ version: "1.1.4", tarball: (await pkg("1.1.4", { key: expiredKey })).tarball }], { latest: "1.1.4" }) },
  { what: "a revoked key", code: "E_KEY_REVOKED", serve: async (r) => r.publish(NAME, [{ version: "1.1.5", tarball: (await pkg("1.1.5", { key: revokedKey })).tarball }], { latest: "1.1.5" }) },
  { what: "a tag moved back", code: "E_DOWNGRADE", serve: async (r, v1) => r.publish(NAME, [{ version: "0.9.0", tarball: (await pkg("0.9.0")).tarball }, { version: "1.0.0", tarball: v1 }], { latest: "0.9.0" }) },
  { what: "a package whose mod.json names another mod", code: "E_PACKAGE_NAME", serve: async (r) => r.publish(NAME, [{ version: "1.1.6", tarball: (await pkg("1.1.6", { mod: "loot" })).tarball }], { latest: "1.1.6" }) },
];

describe("a following host and a hostile registry: every fault has its code and the live version keeps serving", () => {
  let registry: CraftedRegistry;
  let work: string;
  let host: ModHost;
  let v1: Buffer;
  const logs: LogEvent[] = [];
  beforeAll(async () => {
    registry = await CraftedRegistry.start();
    work = await mkdtemp(join(tmpdir(), "modhost-faults-"));
    await mkdir(join(work, "mods"));
    v1 = (await pkg("1.0.0")).tarball;
    registry.publish(NAME, [{ version: "1.0.0", tarball: v1 }], { latest: "1.0.0" });
    const trustedKeys = {
      keys: [
        { key: publicKeyLine(key.publicKey), mods: ["counter", "loot"] },
        { key: publicKeyLine(expiredKey.publicKey), mods: ["counter"], expires: "2021-01-01T00:00:00Z" },
        { key: publicKeyLine(revokedKey.publicKey), mods: ["counter"], revoked: true },
        { key: publicKeyLine(narrowKey.publicKey), mods: ["loot"] },
      ],
    };
    host = await ModHost.create({ modsDir: join(work, "mods"), stateDir: join(work, "state"), isolation: "inline", probation: false, typecheck: "off", capabilities: { broadcast: () => undefined }, grants: { counter: ["broadcast"] }, registry: { url: registry.url, trustedKeys, follow: { [NAME]: "latest" }, pollMs: 600_000, timeoutMs: 300 } });
    host.on("log", (line) => logs.push(line));
    await host.pollRegistry();
  }, 120_000);
  afterAll(async () => {
    await host?.close();
    await registry?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("installs 1.0.0 first", async () => {
    expect(host.mods()).toMatchObject([{ name: "counter", version: "1.0.0", status: "running", origin: { source: "registry", keyId: key.keyId } }]);
    expect(await host.emit("hit")).toMatchObject([{ ok: true, value: { n: 1, v: "1.0.0" } }]);
  });

  let hits = 1;
  for (const fault of FAULTS) {
    it(`${fault.what}: ${fault.code}, 1.0.0 still serving`, async () => {
      await fault.serve(registry, v1);
      const before = host.metrics().registry?.failures[fault.code] ?? 0;
      const seen = logs.length;
      await host.pollRegistry();
      expect(host.metrics().registry?.failures[fault.code]).toBe(before + 1);
      expect(logs.slice(seen).map((l) => l.message).join("\n")).toContain(fault.code);
      expect(host.mods()).toMatchObject([{ name: "counter", version: "1.0.0", status: "running" }]);
      hits++;
      expect(await host.emit("hit")).toMatchObject([{ ok: true, value: { n: hits, v: "1.0.0" } }]);
    }, 120_000);
  }

  it("the same refusal is not downloaded again on the next poll, nor logged again", async () => {
    const downloads = host.metrics().registry!.tarballDownloads;
    const seen = logs.length;
    await host.pollRegistry();
    await host.pollRegistry();
    expect(host.metrics().registry!.tarballDownloads).toBe(downloads);
    expect(logs.length).toBe(seen);
  });

  it("nothing was written outside the cache: the mod's folder holds 1.0.0, the cache only its tarball", async () => {
    expect(await readdir(join(work, "mods"))).toEqual(["counter"]);
    expect(JSON.parse(await readFile(join(work, "mods", "counter", "mod.json"), "utf8"))).toMatchObject({ version: "1.0.0" });
    expect((await readFile(join(work, "mods", "counter", LISTING_FILE))).length).toBeGreaterThan(0);
    expect(await readdir(join(work, "state", "packages", "blobs"))).toEqual([`${createHash("sha256").update(v1).digest("hex")}.tgz`]);
  });

  it("a verified package asking for a new permission is held for approval, then goes live on approve", async () => {
    const { files } = packageFiles({ key, mod: "counter", packageName: NAME, version: "1.2.0", main: MAIN.replace("return s.n;", `return { n: s.n, v: "1.2.0" };`) });
    const manifest = JSON.parse(files.get("mod.json")!.toString()) as { permissions: string[] };
    manifest.permissions = ["broadcast"];
    // Signed again with the permission in mod.json.
    files.set("mod.json", Buffer.from(JSON.stringify(manifest)));
    files.delete(LISTING_FILE);
    files.delete(SIGNATURE_FILE);
    const listing = serializeListing(buildListing({ mod: "counter", version: "1.2.0", package: NAME, keyId: key.keyId }, files));
    files.set(LISTING_FILE, listing);
    files.set(SIGNATURE_FILE, Buffer.from(signMessage(listing, key, "modhost package")));
    registry.publish(NAME, [{ version: "1.2.0", tarball: await writeTarball(files) }], { latest: "1.2.0" });
    await host.pollRegistry();
    expect(host.mods()).toMatchObject([{ name: "counter", version: "1.0.0", status: "pending-approval" }]);
    hits++;
    expect(await host.emit("hit")).toMatchObject([{ ok: true, value: { v: "1.0.0", n: hits } }]);
    expect(await host.approve("counter")).toMatchObject({ ok: true, to: "1.2.0" });
    expect(host.mods()).toMatchObject([{ name: "counter", version: "1.2.0", status: "running", origin: { source: "registry", version: "1.2.0" } }]);
    hits++;
    expect(await host.emit("hit")).toMatchObject([{ ok: true, value: { v: "1.2.0", n: hits } }]);
  });
});

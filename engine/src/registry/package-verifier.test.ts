import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildPackage, packageFiles, trustOf } from "../../../test/support/package-builder.js";
import { generateKeyPair } from "./minisign-key.js";
import { signMessage } from "./minisign-signature.js";
import { LISTING_FILE, SIGNATURE_FILE } from "./package-listing.js";
import { writeTarball } from "./package-tarball.js";
import { verifyPackage } from "./package-verifier.js";

const integrity = (b: Buffer): string => `sha512-${createHash("sha512").update(b).digest("base64")}`;

describe("verifying a signed package", () => {
  it("accepts a good package and reports its mod, key and content address", async () => {
    const { tarball, key } = await buildPackage({ mod: "counter", version: "1.2.0", packageName: "@studio/counter" });
    const verified = await verifyPackage(tarball, { trust: trustOf([{ key, mods: ["counter"] }]), packageName: "@studio/counter", integrity: integrity(tarball), version: "1.2.0", newerThan: "1.1.9", modName: "counter" });
    expect(verified).toMatchObject({ keyId: key.keyId, manifest: { name: "counter", version: "1.2.0" }, sha256: createHash("sha256").update(tarball).digest("hex") });
    expect([...verified.modFiles.keys()].sort()).toEqual(["main.ts", "mod.json"]);
  });

  it("checks the registry's integrity first: a lying integrity is E_PACKAGE_INTEGRITY even for a broken tarball", async () => {
    const { tarball, key } = await buildPackage();
    await expect(verifyPackage(Buffer.from("garbage"), { trust: trustOf([{ key }]), integrity: integrity(tarball) })).rejects.toMatchObject({ code: "E_PACKAGE_INTEGRITY" });
    await expect(verifyPackage(tarball, { trust: trustOf([{ key }]), integrity: "sha1-abc" })).rejects.toMatchObject({ code: "E_REGISTRY_RESPONSE" });
  });

  const refusals: [string, () => Promise<{ tarball: Buffer; trust: ReturnType<typeof trustOf>; extra?: object }>, string, RegExp][] = [
    ["a file not in the listing", async () => {
      const { tarball, key } = await buildPackage({ tamper: (f) => f.set("extra.ts", Buffer.from("export {}")) });
      return { tarball, trust: trustOf([{ key }]) };
    }, "E_LISTING_MISMATCH", /extra\.ts is in the package but not in its signed listing/],
    ["a listed file that is missing", async () => {
      const { tarball, key } = await buildPackage({ tamper: (f) => f.delete("main.ts") });
      return { tarball, trust: trustOf([{ key }]) };
    }, "E_LISTING_MISMATCH", /main\.ts is in the signed listing but not in the package/],
    ["a file changed after signing", async () => {
      const { tarball, key } = await buildPackage({ tamper: (f) => f.set("main.ts", Buffer.from("// evil")) });
      return { tarball, trust: trustOf([{ key }]) };
    }, "E_LISTING_MISMATCH", /main\.ts differs/],
    ["no listing at all (an unsigned npm package)", async () => {
      const { tarball, key } = await buildPackage({ tamper: (f) => { f.delete(LISTING_FILE); f.delete(SIGNATURE_FILE); } });
      return { tarball, trust: trustOf([{ key }]) };
    }, "E_LISTING_MISMATCH", /not a signed modhost package/],
    ["a listing changed after signing (files re-hashed to match)", async () => {
      const key = generateKeyPair();
      const good = packageFiles({ key });
      const listing = JSON.parse(good.files.get(LISTING_FILE)!.toString()) as { files: { path: string; sha256: string; size: number }[] };
      const evil = Buffer.from("// evil");
      const entry = listing.files.find((f) => f.path === "main.ts")!;
      entry.sha256 = createHash("sha256").update(evil).digest("hex");
      entry.size = evil.length;
      good.files.set("main.ts", evil);
      good.files.set(LISTING_FILE, Buffer.from(`${JSON.stringify(listing, null, 2)}\n`));
      return { tarball: await writeTarball(good.files), trust: trustOf([{ key }]) };
    }, "E_SIGNATURE_INVALID", /does not verify/],
    ["a malformed signature", async () => {
      const { tarball, key } = await buildPackage({ tamper: (f) => f.set(SIGNATURE_FILE, Buffer.from("untrusted comment: x\nnot base64!\n")) });
      return { tarball, trust: trustOf([{ key }]) };
    }, "E_SIGNATURE_INVALID", /malformed/],
    ["a signature by another key that claims the trusted key's id", async () => {
      const trusted = generateKeyPair();
      const thief = generateKeyPair();
      const { tarball } = await buildPackage({ key: trusted, tamper: (f) => {
        const forged = signMessage(f.get(LISTING_FILE)!, { ...thief, keyNumber: trusted.keyNumber, keyId: trusted.keyId }, "forged");
        f.set(SIGNATURE_FILE, Buffer.from(forged));
      } });
      return { tarball, trust: trustOf([{ key: trusted }]) };
    }, "E_SIGNATURE_INVALID", /does not verify/],
    ["an unknown key", async () => {
      const { tarball } = await buildPackage();
      return { tarball, trust: trustOf([{ key: generateKeyPair() }]) };
    }, "E_KEY_UNTRUSTED", /not in test-trust\.json/],
    ["a key not scoped to the mod", async () => {
      const { tarball, key } = await buildPackage({ mod: "combat" });
      return { tarball, trust: trustOf([{ key, mods: ["loot", "chat"] }]) };
    }, "E_KEY_UNTRUSTED", /may sign loot, chat, not "combat"/],
    ["an expired key", async () => {
      const { tarball, key } = await buildPackage();
      return { tarball, trust: trustOf([{ key, expires: "2020-01-01T00:00:00Z" }]) };
    }, "E_KEY_EXPIRED", /expired at 2020-01-01/],
    ["a revoked key", async () => {
      const { tarball, key } = await buildPackage();
      return { tarball, trust: trustOf([{ key, revoked: true }]) };
    }, "E_KEY_REVOKED", /revoked/],
    ["an older version than the server ran", async () => {
      const { tarball, key } = await buildPackage({ version: "1.0.0" });
      return { tarball, trust: trustOf([{ key }]), extra: { newerThan: "1.1.0" } };
    }, "E_DOWNGRADE", /not newer than 1\.1\.0/],
    ["the same version again", async () => {
      const { tarball, key } = await buildPackage({ version: "1.1.0" });
      return { tarball, trust: trustOf([{ key }]), extra: { newerThan: "1.1.0" } };
    }, "E_DOWNGRADE", /not newer/],
    ["a mod.json naming another mod than the followed package carried", async () => {
      const { tarball, key } = await buildPackage({ mod: "loot", packageName: "@studio/counter" });
      return { tarball, trust: trustOf([{ key }]), extra: { packageName: "@studio/counter", modName: "counter" } };
    }, "E_PACKAGE_NAME", /holds mod "loot"/],
    ["another package's tarball served under the followed name", async () => {
      const { tarball, key } = await buildPackage({ packageName: "@studio/other" });
      return { tarball, trust: trustOf([{ key }]), extra: { packageName: "@studio/counter" } };
    }, "E_PACKAGE_NAME", /signed as "@studio\/other"/],
    ["a mod.json that disagrees with the signed listing", async () => {
      const { tarball, key } = await buildPackage({ mod: "counter", listing: (l) => ({ ...l, mod: "other" }) });
      return { tarball, trust: trustOf([{ key }]) };
    }, "E_PACKAGE_NAME", /mod\.json names "counter" but the signed listing names "other"/],
    ["a tarball the registry serves as another version", async () => {
      const { tarball, key } = await buildPackage({ version: "1.0.0" });
      return { tarball, trust: trustOf([{ key }]), extra: { version: "2.0.0" } };
    }, "E_REGISTRY_RESPONSE", /serves this tarball as version 2\.0\.0/],
  ];
  for (const [what, make, code, message] of refusals) {
    it(`refuses ${what} (${code})`, async () => {
      const { tarball, trust, extra } = await make();
      await expect(verifyPackage(tarball, { trust, ...extra })).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    });
  }
});

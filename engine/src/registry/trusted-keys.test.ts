import { describe, expect, it } from "vitest";
import { generateKeyPair, publicKeyLine } from "./minisign-key.js";
import { parseTrustedKeys, trustedKeyFor } from "./trusted-keys.js";

const key = generateKeyPair();
const line = publicKeyLine(key.publicKey);

describe("the trusted keys file", () => {
  it("parses keys with scopes, expiry and revocation", () => {
    const trust = parseTrustedKeys({ keys: [{ key: line, mods: ["arena", "loot"], expires: "2030-01-01", comment: "release key" }] }, "trust.json");
    const entry = trust.keys.get(key.keyId);
    expect(entry).toMatchObject({ mods: ["arena", "loot"], revoked: false, expiresAt: Date.parse("2030-01-01"), comment: "release key" });
    expect(trustedKeyFor(trust, key.keyId, "loot", Date.parse("2029-12-31"))).toBe(entry);
    expect(() => trustedKeyFor(trust, key.keyId, "loot", Date.parse("2030-01-01"))).toThrow(expect.objectContaining({ code: "E_KEY_EXPIRED" }));
  });

  const bad: [string, unknown, string][] = [
    ["not an object", [], "(top)"],
    ["an unknown top-level field", { keys: [], extra: 1 }, "extra"],
    ["keys not an array", { keys: {} }, "keys"],
    ["an unknown entry field", { keys: [{ key: line, mods: ["a"], scope: "x" }] }, "keys[0].scope"],
    ["a key that is not base64", { keys: [{ key: "not a key!", mods: ["a"] }] }, "keys[0].key"],
    ["a key of the wrong length", { keys: [{ key: "RWQAAAA=", mods: ["a"] }] }, "keys[0].key"],
    ["no mods", { keys: [{ key: line, mods: [] }] }, "keys[0].mods"],
    ["a bad mod name", { keys: [{ key: line, mods: ["ok", "Bad Name"] }] }, "keys[0].mods[1]"],
    ["a bad expiry", { keys: [{ key: line, mods: ["a"], expires: "next year" }] }, "keys[0].expires"],
    ["a non-boolean revoked", { keys: [{ key: line, mods: ["a"], revoked: "yes" }] }, "keys[0].revoked"],
    ["a key listed twice", { keys: [{ key: line, mods: ["a"] }, { key: line, mods: ["b"] }] }, "keys[1].key"],
  ];
  for (const [what, value, field] of bad) {
    it(`refuses ${what} naming the field (${field})`, () => {
      expect(() => parseTrustedKeys(value, "trust.json")).toThrow(expect.objectContaining({ code: "E_TRUST_INVALID", location: expect.objectContaining({ field }) }));
    });
  }
});

import { describe, expect, it } from "vitest";
import { formatPublicKeyFile, formatSecretKeyFile, generateKeyPair, parsePublicKeyFile, parseSecretKeyFile } from "./minisign-key.js";
import { parseSignature, signMessage, verifySignature } from "./minisign-signature.js";

describe("minisign keys and signatures", () => {
  it("key files round-trip and sign what the public key verifies", () => {
    const key = generateKeyPair();
    const again = parseSecretKeyFile(formatSecretKeyFile(key));
    const pub = parsePublicKeyFile(formatPublicKeyFile(key.publicKey));
    expect(again.keyId).toBe(key.keyId);
    expect(pub.raw.equals(key.publicKey.raw)).toBe(true);
    const message = Buffer.from("hello");
    const sig = parseSignature(signMessage(message, again, "modhost test"));
    expect(sig).toMatchObject({ keyId: key.keyId, trustedComment: "modhost test" });
    expect(verifySignature(message, sig, pub)).toBe(true);
    expect(verifySignature(Buffer.from("hellO"), sig, pub)).toBe(false);
    expect(verifySignature(message, { ...sig, trustedComment: "modhost tesT" }, pub)).toBe(false);
    expect(verifySignature(message, sig, generateKeyPair().publicKey)).toBe(false);
  });

  it("refuses damaged and encrypted secret keys, and malformed signatures", () => {
    const text = formatSecretKeyFile(generateKeyPair());
    const [comment, line] = text.split("\n") as [string, string];
    const bytes = Buffer.from(line, "base64");
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    expect(() => parseSecretKeyFile(`${comment}\n${bytes.toString("base64")}\n`)).toThrow(expect.objectContaining({ code: "E_KEY_INVALID", message: expect.stringMatching(/checksum/) }));
    const encrypted = Buffer.from(line, "base64");
    encrypted.write("Sc", 2, "latin1");
    expect(() => parseSecretKeyFile(`${comment}\n${encrypted.toString("base64")}\n`)).toThrow(expect.objectContaining({ code: "E_KEY_INVALID", message: expect.stringMatching(/encrypted/) }));
    expect(() => parseSignature("untrusted comment: x\nAAAA\ntrusted comment: y\nAAAA\n")).toThrow(expect.objectContaining({ code: "E_SIGNATURE_INVALID" }));
    expect(() => parseSignature("just one line")).toThrow(expect.objectContaining({ code: "E_SIGNATURE_INVALID" }));
  });
});

import { createHash, sign, verify } from "node:crypto";
import { ModhostError } from "../errors/modhost-error.js";
import { keyIdOf, type PublicKey, type SecretKey } from "./minisign-key.js";

/**
 * Signatures in minisign's `.minisig` format (prehashed, algorithm "ED"):
 * ```
 * untrusted comment: <anything>
 * base64("ED" | key number (8) | Ed25519 signature of BLAKE2b-512(message) (64))
 * trusted comment: <text>
 * base64(Ed25519 signature of (the signature above | trusted comment text))
 * ```
 * The trusted comment is covered by the second (global) signature, the untrusted one by nothing.
 */

const HASHED_ALG = Buffer.from("ED");
const UNTRUSTED = "untrusted comment: ";
const TRUSTED = "trusted comment: ";

/** A parsed `.minisig` file. */
export interface MinisignSignature {
  readonly keyId: string;
  readonly keyNumber: Buffer;
  readonly signature: Buffer;
  readonly trustedComment: string;
  readonly globalSignature: Buffer;
}

function prehash(message: Uint8Array): Buffer {
  return createHash("blake2b512").update(message).digest();
}

/** Signs `message`; returns the `.minisig` text. `trustedComment` must be one printable line. */
export function signMessage(message: Uint8Array, key: SecretKey, trustedComment: string): string {
  if (/[\r\n]/.test(trustedComment)) throw new ModhostError("E_INTERNAL", "a trusted comment must be one line");
  const signature = sign(null, prehash(message), key.key);
  const global = sign(null, Buffer.concat([signature, Buffer.from(trustedComment)]), key.key);
  const first = Buffer.concat([HASHED_ALG, key.keyNumber, signature]).toString("base64");
  return `${UNTRUSTED}signature from modhost secret key ${key.keyId}\n${first}\n${TRUSTED}${trustedComment}\n${global.toString("base64")}\n`;
}

function malformed(message: string, file?: string): ModhostError {
  return new ModhostError("E_SIGNATURE_INVALID", `the signature is malformed: ${message}`, file !== undefined ? { file } : {});
}

/** Parses a `.minisig` text strictly; throws E_SIGNATURE_INVALID when it is not one. */
export function parseSignature(text: string, file?: string): MinisignSignature {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines.length !== 4) throw malformed(`expected 4 lines, found ${lines.length}`, file);
  const [untrusted, first, trusted, global] = lines as [string, string, string, string];
  if (!untrusted.startsWith(UNTRUSTED)) throw malformed(`line 1 must start with "${UNTRUSTED}"`, file);
  if (!trusted.startsWith(TRUSTED)) throw malformed(`line 3 must start with "${TRUSTED}"`, file);
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (!base64.test(first) || !base64.test(global)) throw malformed("lines 2 and 4 must be base64", file);
  const head = Buffer.from(first, "base64");
  if (head.length !== 74) throw malformed(`line 2 holds ${head.length} bytes, expected 74`, file);
  if (!head.subarray(0, 2).equals(HASHED_ALG)) throw malformed(`algorithm ${JSON.stringify(head.subarray(0, 2).toString("latin1"))}: only prehashed Ed25519 ("ED") is accepted`, file);
  const globalSignature = Buffer.from(global, "base64");
  if (globalSignature.length !== 64) throw malformed(`line 4 holds ${globalSignature.length} bytes, expected 64`, file);
  const keyNumber = Buffer.from(head.subarray(2, 10));
  return { keyId: keyIdOf(keyNumber), keyNumber, signature: Buffer.from(head.subarray(10)), trustedComment: trusted.slice(TRUSTED.length), globalSignature };
}

/** Does `signature` sign `message` (and its trusted comment) with `key`? Key numbers must match. */
export function verifySignature(message: Uint8Array, signature: MinisignSignature, key: PublicKey): boolean {
  if (!signature.keyNumber.equals(key.keyNumber)) return false;
  if (!verify(null, prehash(message), key.key, signature.signature)) return false;
  return verify(null, Buffer.concat([signature.signature, Buffer.from(signature.trustedComment)]), key.key, signature.globalSignature);
}

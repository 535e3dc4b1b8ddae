import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { blake2b } from "@noble/hashes/blake2.js";
import { ModhostError } from "../errors/modhost-error.js";

/**
 * Ed25519 keys in minisign's file formats, so that `minisign -V` checks what modhost signs and a
 * key made with `minisign -G -W` can sign with modhost:
 * - public key file: `untrusted comment: minisign public key <KEYID>` then
 *   base64("Ed" | key number (8 bytes) | public key (32 bytes));
 * - secret key file (unencrypted, minisign's `-W`): base64("Ed" | kdf "\0\0" | "B2" | salt (32) |
 *   opslimit (8) | memlimit (8) | key number (8) | secret key (64: seed | public key) |
 *   BLAKE2b-256 checksum of "Ed" | key number | secret key).
 * The key id shown everywhere is minisign's: the key number read as a little-endian 64-bit integer,
 * in 16 upper-case hex digits.
 */

const ALG = Buffer.from("Ed");
const CHK_ALG = Buffer.from("B2");
const KDF_NONE = Buffer.from([0, 0]);
const KDF_SCRYPT = Buffer.from("Sc");
const PUBLIC_KEY_BYTES = 2 + 8 + 32;
const SECRET_KEY_BYTES = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32;
const COMMENT = "untrusted comment: ";

/** A public key: its id (minisign's form) and the key for node:crypto. */
export interface PublicKey {
  /** 16 upper-case hex digits, as minisign prints it. */
  readonly keyId: string;
  /** The 8 raw key-number bytes carried in every signature. */
  readonly keyNumber: Buffer;
  /** The raw 32-byte Ed25519 public key. */
  readonly raw: Buffer;
  readonly key: KeyObject;
}

/** A secret key with its public half. */
export interface SecretKey {
  readonly keyId: string;
  readonly keyNumber: Buffer;
  readonly key: KeyObject;
  readonly publicKey: PublicKey;
}

/** minisign's key id: the key number as a little-endian u64, 16 upper-case hex digits. */
export function keyIdOf(keyNumber: Buffer): string {
  return Buffer.from(keyNumber).reverse().toString("hex").toUpperCase();
}

function publicKeyFrom(keyNumber: Buffer, raw: Buffer): PublicKey {
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
  return { keyId: keyIdOf(keyNumber), keyNumber, raw, key };
}

function keyError(message: string, file?: string): ModhostError {
  return new ModhostError("E_KEY_INVALID", message, file !== undefined ? { file } : {});
}

/** Makes a new Ed25519 key pair with a random key number. */
export function generateKeyPair(): SecretKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  const raw = Buffer.from(jwk.x ?? "", "base64url");
  const keyNumber = randomBytes(8);
  return { keyId: keyIdOf(keyNumber), keyNumber, key: privateKey, publicKey: publicKeyFrom(keyNumber, raw) };
}

/** The base64 line of a public key (what `minisign -P` takes). */
export function publicKeyLine(key: PublicKey): string {
  return Buffer.concat([ALG, key.keyNumber, key.raw]).toString("base64");
}

/** The text of a minisign public key file. */
export function formatPublicKeyFile(key: PublicKey): string {
  return `${COMMENT}minisign public key ${key.keyId}\n${publicKeyLine(key)}\n`;
}

/** Parses a public key given as its base64 line (minisign's `-P` form). */
export function parsePublicKeyLine(line: string, where?: string): PublicKey {
  const text = line.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw keyError(`${where ?? "the public key"} is not base64`, where);
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== PUBLIC_KEY_BYTES) throw keyError(`${where ?? "the public key"} is ${bytes.length} bytes, a minisign public key is ${PUBLIC_KEY_BYTES}`, where);
  if (!bytes.subarray(0, 2).equals(ALG)) throw keyError(`${where ?? "the public key"} is not an Ed25519 minisign key (algorithm ${JSON.stringify(bytes.subarray(0, 2).toString("latin1"))})`, where);
  return publicKeyFrom(Buffer.from(bytes.subarray(2, 10)), Buffer.from(bytes.subarray(10)));
}

/** Parses a minisign public key file (comment line, then the key line). */
export function parsePublicKeyFile(text: string, file?: string): PublicKey {
  const lines = text.split(/\r?\n/);
  if (!(lines[0] ?? "").startsWith(COMMENT)) throw keyError(`${file ?? "the public key file"}: the first line must start with "${COMMENT}"`, file);
  return parsePublicKeyLine(lines[1] ?? "", file);
}

function secretChecksum(keyNumber: Buffer, secret: Buffer): Buffer {
  return Buffer.from(blake2b(Buffer.concat([ALG, keyNumber, secret]), { dkLen: 32 }));
}

/** The text of an unencrypted minisign secret key file (minisign's `-W` form). */
export function formatSecretKeyFile(key: SecretKey): string {
  const seed = Buffer.from(key.key.export({ format: "jwk" }).d ?? "", "base64url");
  const secret = Buffer.concat([seed, key.publicKey.raw]);
  const body = Buffer.concat([ALG, KDF_NONE, CHK_ALG, Buffer.alloc(32 + 8 + 8), key.keyNumber, secret, secretChecksum(key.keyNumber, secret)]);
  return `${COMMENT}minisign secret key ${key.keyId} (unencrypted: keep this file private)\n${body.toString("base64")}\n`;
}

/** Parses an unencrypted minisign secret key file; an encrypted one is refused with the way out. */
export function parseSecretKeyFile(text: string, file?: string): SecretKey {
  const name = file ?? "the secret key file";
  const lines = text.split(/\r?\n/);
  if (!(lines[0] ?? "").startsWith(COMMENT)) throw keyError(`${name}: the first line must start with "${COMMENT}"`, file);
  const line = (lines[1] ?? "").trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(line)) throw keyError(`${name}: the key line is not base64`, file);
  const bytes = Buffer.from(line, "base64");
  if (bytes.length !== SECRET_KEY_BYTES) throw keyError(`${name} is ${bytes.length} bytes, a minisign secret key is ${SECRET_KEY_BYTES}`, file);
  if (!bytes.subarray(0, 2).equals(ALG)) throw keyError(`${name}: not an Ed25519 minisign key`, file);
  const kdf = bytes.subarray(2, 4);
  if (kdf.equals(KDF_SCRYPT)) throw keyError(`${name} is encrypted with a password; modhost reads unencrypted keys only (remove the password with \`minisign -C -W -s ${name}\`)`, file);
  if (!kdf.equals(KDF_NONE)) throw keyError(`${name}: unknown key derivation ${JSON.stringify(kdf.toString("latin1"))}`, file);
  if (!bytes.subarray(4, 6).equals(CHK_ALG)) throw keyError(`${name}: unknown checksum algorithm`, file);
  const keyNumber = Buffer.from(bytes.subarray(54, 62));
  const secret = Buffer.from(bytes.subarray(62, 126));
  if (!secretChecksum(keyNumber, secret).equals(bytes.subarray(126, 158))) throw keyError(`${name} is damaged: its checksum does not match`, file);
  const seed = secret.subarray(0, 32);
  const raw = Buffer.from(secret.subarray(32));
  const key = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: seed.toString("base64url"), x: raw.toString("base64url") }, format: "jwk" });
  const derived = Buffer.from(createPublicKey(key).export({ format: "jwk" }).x ?? "", "base64url");
  if (!derived.equals(raw)) throw keyError(`${name} is damaged: its public half does not match its seed`, file);
  return { keyId: keyIdOf(keyNumber), keyNumber, key, publicKey: publicKeyFrom(keyNumber, raw) };
}

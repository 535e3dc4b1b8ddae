import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { ModhostError } from "../errors/modhost-error.js";

/** Shortest token the admin server accepts, in characters. */
export const MIN_TOKEN_LENGTH = 16;

const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** A new random token: 32 bytes from the system's CSPRNG, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Checks that `token` can be an admin token (at least MIN_TOKEN_LENGTH printable ASCII characters,
 * no spaces) and returns it; throws E_OPTIONS_INVALID naming `where` otherwise.
 */
export function checkToken(token: unknown, where: string): string {
  if (typeof token !== "string" || token.length < MIN_TOKEN_LENGTH || token.length > 1024 || !TOKEN_CHARS.test(token)) {
    throw new ModhostError("E_OPTIONS_INVALID", `${where}: the admin token must be ${MIN_TOKEN_LENGTH}-1024 printable ASCII characters without spaces`, { field: "token" });
  }
  return token;
}

/**
 * Compares a presented token with the expected one in constant time. Both are hashed first, so the
 * comparison takes the same time whatever the presented token's length.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

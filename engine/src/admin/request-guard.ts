import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { bearerToken, tokensEqual } from "./admin-token.js";

/** Who may talk to the admin server, besides holding the token. */
export interface GuardPolicy {
  readonly token: string;
  /**
   * Host names (without port) the `Host` header may name. Undefined: loopback names only
   * (`localhost`, `127.0.0.1`, `[::1]`) when the server listens on loopback, any otherwise.
   */
  readonly allowedHosts: readonly string[] | undefined;
  /** Is the server bound to a loopback address? */
  readonly loopback: boolean;
  /** Exact `Origin` values allowed; a request without Origin (not from a browser) is always allowed. */
  readonly allowedOrigins: readonly string[];
}

/** Whether a request may go on, or the HTTP status and message to refuse it with. */
export type GuardVerdict = { readonly ok: true } | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1"]);

/**
 * Checks a request's `Host`, `Origin` and `Authorization: Bearer` headers, in that order. Host
 * protects a loopback server from DNS rebinding (a web page whose name resolves to 127.0.0.1),
 * Origin from pages in a browser; the token, compared in constant time, is what admits a client.
 */
export function checkRequest(req: IncomingMessage, policy: GuardPolicy): GuardVerdict {
  const host = hostName(req.headers.host);
  if (host === undefined) return { ok: false, status: 403, message: "the Host header is missing or malformed" };
  const allowedHosts = policy.allowedHosts?.map((h) => h.toLowerCase());
  if (allowedHosts !== undefined ? !allowedHosts.includes(host) : policy.loopback && !LOOPBACK_NAMES.has(host)) {
    return { ok: false, status: 403, message: `Host "${host}" is not allowed` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !policy.allowedOrigins.includes(origin)) return { ok: false, status: 403, message: `Origin "${origin}" is not allowed` };
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) return { ok: false, status: 401, message: "missing Authorization: Bearer <token>" };
  if (!tokensEqual(token, policy.token)) return { ok: false, status: 401, message: "wrong token" };
  return { ok: true };
}

/** Is `address` (as given to listen) a loopback address? */
export function isLoopback(address: string): boolean {
  if (address === "localhost") return true;
  if (isIP(address) === 4) return address.startsWith("127.");
  if (isIP(address) === 6) return address === "::1";
  return false;
}

/** The host name of a Host header (lowercase, without port and IPv6 brackets), or undefined. */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header === "") return undefined;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::\d{1,5})?$/.exec(header);
  const name = match?.[1] ?? match?.[2];
  return name?.toLowerCase();
}

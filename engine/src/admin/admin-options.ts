import { resolve } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import type { ModHost } from "../host/mod-host.js";
import { checkToken } from "./admin-token.js";
import { ADMIN_DEFAULTS } from "./protocol.js";

/** Options of AdminServer.create(). Unknown keys are refused. */
export interface AdminServerOptions {
  /** The host to administer. The server does not own it: close the host after the server. */
  readonly host: ModHost;
  /** The secret clients present as `Authorization: Bearer <token>` (16+ printable characters). */
  readonly token: string;
  /** The host's modsDir: deploys are written there. Without it, deploys are refused. */
  readonly modsDir?: string;
  /** Address to listen on (default `127.0.0.1`). Anything but loopback exposes the channel. */
  readonly hostname?: string;
  /** Port (default 0: any free port; read it back from `port`). */
  readonly port?: number;
  /** Host names the `Host` header may carry (default: loopback names when listening on loopback, any otherwise). */
  readonly allowedHosts?: readonly string[];
  /** `Origin` values allowed (default none: requests from web pages are refused). */
  readonly allowedOrigins?: readonly string[];
  /** Largest message a client may send, in bytes (default 8 MiB); larger ones close the connection with 1009. */
  readonly maxMessageBytes?: number;
  /** Unsent bytes past which a client is dropped with close code 4001 (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Messages a client may send in a burst (default 30)... */
  readonly rateBurst?: number;
  /** ...and per second after it (default 10). */
  readonly ratePerSecond?: number;
  /**
   * Most simultaneous admin connections (default 32). When all are taken, a newly authenticated
   * client evicts the longest-idle one (close code 4003); only when every client has a request
   * running is it refused with HTTP 503.
   */
  readonly maxConnections?: number;
  /**
   * Most TCP connections that are not (yet) an authenticated WebSocket (default 64), counted apart
   * from `maxConnections` so that unauthenticated clients can never take an operator's slot; over
   * it the oldest such connection is cut.
   */
  readonly maxPendingConnections?: number;
  /** A TCP connection must complete its WebSocket upgrade (or send an HTTP request) within this many ms (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** Interval of the ping/pong heartbeat in ms (default 15 s); a client that misses a pong is cut off. */
  readonly heartbeatMs?: number;
  /** A client that sends nothing and subscribes to nothing for this many ms is closed with 4002 (default 10 min). */
  readonly idleTimeoutMs?: number;
  /** Log lines kept for the `logs` request (default 1000). */
  readonly logHistory?: number;
  /** Where the server reports problems (a dropped client, a socket error); default: a process warning. */
  readonly onProblem?: (message: string) => void;
}

export interface ResolvedAdminOptions {
  readonly host: ModHost;
  readonly token: string;
  readonly modsDir: string | undefined;
  readonly hostname: string;
  readonly port: number;
  readonly allowedHosts: readonly string[] | undefined;
  readonly allowedOrigins: readonly string[];
  readonly maxMessageBytes: number;
  readonly maxBufferedBytes: number;
  readonly rateBurst: number;
  readonly ratePerSecond: number;
  readonly maxConnections: number;
  readonly maxPendingConnections: number;
  readonly handshakeTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly idleTimeoutMs: number;
  readonly logHistory: number;
  readonly onProblem: (message: string) => void;
}

const MAX_TIMER_MS = 2_147_483_647;

const OPTION_KEYS = new Set([
  "host",
  "token",
  "modsDir",
  "hostname",
  "port",
  "allowedHosts",
  "allowedOrigins",
  "maxMessageBytes",
  "maxBufferedBytes",
  "rateBurst",
  "ratePerSecond",
  "maxConnections",
  "maxPendingConnections",
  "handshakeTimeoutMs",
  "heartbeatMs",
  "idleTimeoutMs",
  "logHistory",
  "onProblem",
]);

/** Validates AdminServer.create()'s options, given as unknown because JavaScript callers exist. */
export function resolveAdminOptions(input: unknown): ResolvedAdminOptions {
  const fail = (field: string, message: string): never => {
    throw new ModhostError("E_OPTIONS_INVALID", `admin options.${field}: ${message}`, { field });
  };
  if (typeof input !== "object" || input === null) throw new ModhostError("E_OPTIONS_INVALID", "AdminServer.create() needs an options object");
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!OPTION_KEYS.has(key)) fail(key, `unknown option (allowed: ${[...OPTION_KEYS].join(", ")})`);
  const host = o.host;
  if (typeof host !== "object" || host === null || typeof (host as { mods?: unknown }).mods !== "function") fail("host", "must be a ModHost");
  const token = checkToken(o.token, "admin options.token");
  if (o.modsDir !== undefined && (typeof o.modsDir !== "string" || o.modsDir === "")) fail("modsDir", "must be the path of the host's modsDir");
  if (o.hostname !== undefined && (typeof o.hostname !== "string" || o.hostname === "")) fail("hostname", "must be an address to listen on, e.g. 127.0.0.1");
  if (o.port !== undefined && (typeof o.port !== "number" || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) fail("port", "must be a port number from 0 to 65535");
  const names = (key: string): readonly string[] | undefined => {
    const value = o[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v === "")) fail(key, "must be an array of non-empty strings");
    return [...(value as string[])];
  };
  const positive = (key: string, fallback: number): number => {
    const value = o[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) fail(key, "must be a positive number");
    return value as number;
  };
  if (o.onProblem !== undefined && typeof o.onProblem !== "function") fail("onProblem", "must be a function");
  return {
    host: host as ModHost,
    token,
    modsDir: o.modsDir === undefined ? undefined : resolve(o.modsDir as string),
    hostname: (o.hostname as string | undefined) ?? "127.0.0.1",
    port: (o.port as number | undefined) ?? 0,
    allowedHosts: names("allowedHosts"),
    allowedOrigins: names("allowedOrigins") ?? [],
    maxMessageBytes: Math.floor(positive("maxMessageBytes", ADMIN_DEFAULTS.maxMessageBytes)),
    maxBufferedBytes: positive("maxBufferedBytes", ADMIN_DEFAULTS.maxBufferedBytes),
    rateBurst: positive("rateBurst", ADMIN_DEFAULTS.rateBurst),
    ratePerSecond: positive("ratePerSecond", ADMIN_DEFAULTS.ratePerSecond),
    maxConnections: Math.max(1, Math.floor(positive("maxConnections", ADMIN_DEFAULTS.maxConnections))),
    maxPendingConnections: Math.max(1, Math.floor(positive("maxPendingConnections", ADMIN_DEFAULTS.maxPendingConnections))),
    // setTimeout's longest delay: beyond it Node fires at once.
    handshakeTimeoutMs: Math.min(positive("handshakeTimeoutMs", ADMIN_DEFAULTS.handshakeTimeoutMs), MAX_TIMER_MS),
    heartbeatMs: Math.min(positive("heartbeatMs", ADMIN_DEFAULTS.heartbeatMs), MAX_TIMER_MS),
    idleTimeoutMs: positive("idleTimeoutMs", ADMIN_DEFAULTS.idleTimeoutMs),
    logHistory: Math.floor(positive("logHistory", ADMIN_DEFAULTS.logHistory)),
    onProblem: (o.onProblem as ((message: string) => void) | undefined) ?? ((message) => process.emitWarning(message, { code: "MODHOST_ADMIN" })),
  };
}

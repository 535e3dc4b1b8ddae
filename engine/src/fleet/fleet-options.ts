import { ModhostError } from "../errors/modhost-error.js";
import type { FleetSettings } from "./fleet-agent.js";
import { checkFleetId } from "./fleet-keys.js";

/** ModHost.create()'s `fleet` option: join a fleet whose releases live on Redis (docs/fleet.md). */
export interface FleetOptions {
  /** The Redis URL, e.g. "redis://fleet-redis:6379". */
  readonly redis: string;
  /** This server's id in the fleet (unique): 1-64 letters, digits, ".", "_", "-". */
  readonly server: string;
  /** The server's group (region, shard set); a release may name a group. */
  readonly group?: string;
  /** Heartbeat period, ms (default 2000); the heartbeat expires after three periods. */
  readonly heartbeatMs?: number;
  /** Full read of every release even without stream news, ms (default 15 000). */
  readonly backstopMs?: number;
  /**
   * Controller lease, ms (default 10 000): a rolling release unchanged this long whose lease is
   * free (its controller died, or `release --detach`) is driven by one of the servers.
   */
  readonly leaseMs?: number;
  /** Key prefix (default "modhost:fleet:"). */
  readonly prefix?: string;
}

const KEYS = ["redis", "server", "group", "heartbeatMs", "backstopMs", "leaseMs", "prefix"];

/** Validates the `fleet` option; throws E_OPTIONS_INVALID naming the field. */
export function parseFleetOptions(input: unknown): FleetSettings {
  const fail = (field: string, message: string): never => {
    throw new ModhostError("E_OPTIONS_INVALID", `options.fleet${field === "" ? "" : `.${field}`}: ${message}`, { field: `fleet${field === "" ? "" : `.${field}`}` });
  };
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail("", "must be an object { redis, server, group? }");
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KEYS.includes(key)) fail(key, `unknown setting (allowed: ${KEYS.join(", ")})`);
  if (typeof o.redis !== "string") return fail("redis", "must be a redis:// or rediss:// URL");
  let url: URL | undefined;
  try {
    url = new URL(o.redis);
  } catch {
    fail("redis", "is not a URL");
  }
  if (url?.protocol !== "redis:" && url?.protocol !== "rediss:") fail("redis", "must be a redis:// or rediss:// URL");
  const whole = (key: string, fallback: number): number => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 10) fail(key, "must be a whole number of at least 10 (ms)");
    return v as number;
  };
  if (o.prefix !== undefined && (typeof o.prefix !== "string" || !/^[A-Za-z0-9:._-]{1,64}$/.test(o.prefix))) fail("prefix", "must be 1-64 letters, digits, \":\", \".\", \"_\" or \"-\"");
  return {
    redis: o.redis,
    server: checkFleetId(o.server, "options.fleet.server"),
    ...(o.group !== undefined ? { group: checkFleetId(o.group, "options.fleet.group") } : {}),
    heartbeatMs: whole("heartbeatMs", 2000),
    backstopMs: whole("backstopMs", 15_000),
    leaseMs: whole("leaseMs", 10_000),
    ...(typeof o.prefix === "string" ? { prefix: o.prefix } : {}),
  };
}

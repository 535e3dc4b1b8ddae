import { ModhostError } from "../errors/modhost-error.js";
import type { FleetConnection } from "./fleet-redis.js";
import { fleetKeys, isFleetId, isModName, type FleetKeys } from "./fleet-keys.js";
import { CAS_RELEASE, DROP_LEASE, TAKE_LEASE } from "./fleet-scripts.js";
import { encodeRelease, parseRelease, type ReleaseRecord } from "./release-record.js";
import type { Transition } from "./transitions.js";
import { NO_FIGURES, type VersionFigures } from "./window-analysis.js";

/** A server's heartbeat, as it writes it. */
export interface Heartbeat {
  readonly server: string;
  readonly group: string | null;
  /** mod -> live version. */
  readonly mods: Readonly<Record<string, string>>;
  readonly at: number;
}

/** A server's refusal of a release's version. */
export interface Refusal {
  readonly server: string;
  readonly version: string;
  readonly code: string;
  readonly message: string;
}

/** One audit stream entry. */
export interface AuditEntry {
  readonly id: string;
  readonly mod: string;
  readonly epoch: number;
  readonly entry: Readonly<Record<string, unknown>>;
}

/** Health counters: server -> version -> counter -> count. */
export type HealthCounters = Map<string, Map<string, Record<CounterName, number>>>;

/** What each server counts per mod and version. */
export const COUNTERS = ["events", "errors", "limits", "faults", "swapOk", "swapRefused"] as const;
export type CounterName = (typeof COUNTERS)[number];

const STREAM_MAX = "10000";
const MAX_ITEMS = 100_000;

/**
 * Typed access to the fleet's Redis keys. Every answer is parsed strictly: a malformed value is
 * E_FLEET_DATA (or skipped, where one bad server's data must not blind the others).
 */
export class FleetStore {
  readonly keys: FleetKeys;
  readonly #redis: FleetConnection;

  constructor(redis: FleetConnection, prefix?: string) {
    this.#redis = redis;
    this.keys = fleetKeys(prefix);
  }

  get connection(): FleetConnection {
    return this.#redis;
  }

  /** The release record of `mod`, or undefined when it never had one. */
  async release(mod: string): Promise<ReleaseRecord | undefined> {
    const answer = await this.#redis.command(["HMGET", this.keys.release(mod), "epoch", "record"]);
    if (!Array.isArray(answer) || answer.length !== 2) throw new ModhostError("E_FLEET_DATA", `HMGET of ${mod}'s release answered ${typeof answer}`, { mod });
    const [epoch, record] = answer as unknown[];
    if (epoch === null && record === null) return undefined;
    return parseRelease(record, epoch, mod);
  }

  /** Every mod with a release (names that are not mod names are skipped). */
  async mods(): Promise<string[]> {
    const answer = await this.#redis.command(["SMEMBERS", this.keys.mods]);
    return strings(answer).filter(isModName).sort();
  }

  /** Writes a transition if the release still has the epoch it was computed from. */
  async apply(transition: Transition, previousEpoch: number, leaseOwner = ""): Promise<ReleaseRecord> {
    const { record } = transition;
    const entry = JSON.stringify({ action: transition.action, releaseId: record.releaseId, phase: record.phase, percent: record.percent, stable: record.stable, canary: record.canary, failures: record.failures, reason: record.reason, by: record.by, at: record.updatedAt, ...(transition.figures !== undefined ? { figures: transition.figures } : {}) });
    await this.#redis.command(["EVAL", CAS_RELEASE, "5", this.keys.release(record.mod), this.keys.mods, this.keys.channel, this.keys.audit, this.keys.lease(record.mod), String(previousEpoch), String(record.epoch), encodeRelease(record), record.mod, entry, STREAM_MAX, leaseOwner]);
    return record;
  }

  /** Takes (or renews) the controller lease; throws E_FLEET_LEASE naming the holder. */
  async takeLease(mod: string, owner: string, ttlMs: number): Promise<void> {
    const answer = await this.#redis.command(["EVAL", TAKE_LEASE, "1", this.keys.lease(mod), owner, String(ttlMs)]);
    if (answer !== 1) throw new ModhostError("E_FLEET_LEASE", `the release of ${mod} is driven by another controller (${String(answer).slice(0, 100)}); it holds the lease until it stops renewing it`, { mod });
  }

  /** Who holds the controller lease of `mod` (undefined when nobody drives it). */
  async leaseHolder(mod: string): Promise<string | undefined> {
    const owner = await this.#redis.command(["GET", this.keys.lease(mod)]);
    return typeof owner === "string" && owner.length <= 200 ? owner : undefined;
  }

  async dropLease(mod: string, owner: string): Promise<void> {
    await this.#redis.command(["EVAL", DROP_LEASE, "1", this.keys.lease(mod), owner]);
  }

  /** Writes a server's heartbeat with an expiry. */
  async heartbeat(beat: Heartbeat, ttlMs: number): Promise<void> {
    await this.#redis.command(["SET", this.keys.server(beat.server), JSON.stringify(beat), "PX", String(ttlMs)]);
    await this.#redis.command(["ZADD", this.keys.servers, String(beat.at), beat.server]);
  }

  /**
   * Removes a stopping server's heartbeat, so it is no longer live; its entry in the `servers`
   * set stays, with its last heartbeat's time, and lists it among the expired ones.
   */
  async leave(server: string): Promise<void> {
    await this.#redis.command(["DEL", this.keys.server(server)]);
  }

  /** The heartbeats still alive (expired or malformed ones are left out). */
  async heartbeats(): Promise<Heartbeat[]> {
    const ids = strings(await this.#redis.command(["ZRANGE", this.keys.servers, "0", "-1"])).filter(isFleetId).slice(0, 10_000);
    if (ids.length === 0) return [];
    const values = await this.#redis.command(["MGET", ...ids.map((id) => this.keys.server(id))]);
    const out: Heartbeat[] = [];
    if (!Array.isArray(values)) return out;
    ids.forEach((id, i) => {
      const beat = parseHeartbeat(values[i], id);
      if (beat !== undefined) out.push(beat);
    });
    return out;
  }

  /**
   * Servers that have beaten once but whose heartbeat expired (stopped, killed, cut off), with
   * when they last beat, newest first: they count as neither healthy nor in any window.
   */
  async expired(live: readonly Heartbeat[]): Promise<{ server: string; lastSeen: number }[]> {
    const flat = strings(await this.#redis.command(["ZRANGE", this.keys.servers, "0", "-1", "WITHSCORES"]));
    const alive = new Set(live.map((b) => b.server));
    const out: { server: string; lastSeen: number }[] = [];
    for (let i = 0; i + 1 < flat.length && i < 20_000; i += 2) {
      const server = flat[i] as string;
      const at = Number(flat[i + 1]);
      if (isFleetId(server) && !alive.has(server) && Number.isSafeInteger(at)) out.push({ server, lastSeen: at });
    }
    return out.sort((a, b) => b.lastSeen - a.lastSeen);
  }

  /** Adds counts to a release's health hash. */
  async addCounts(mod: string, releaseId: string, counts: readonly { server: string; version: string; counter: CounterName; n: number }[]): Promise<void> {
    const key = this.keys.health(mod, releaseId);
    for (const c of counts) await this.#redis.command(["HINCRBY", key, `${c.server}|${c.version}|${c.counter}`, String(c.n)]);
  }

  /** A release's health counters (fields that do not parse are skipped). */
  async health(mod: string, releaseId: string): Promise<HealthCounters> {
    const flat = strings(await this.#redis.command(["HGETALL", this.keys.health(mod, releaseId)]));
    const out: HealthCounters = new Map();
    for (let i = 0; i + 1 < flat.length && i < MAX_ITEMS * 2; i += 2) {
      const parts = (flat[i] as string).split("|");
      const n = Number(flat[i + 1]);
      if (parts.length !== 3 || !isFleetId(parts[0]) || !Number.isSafeInteger(n) || n < 0) continue;
      const [server, version, counter] = parts as [string, string, string];
      if (!(COUNTERS as readonly string[]).includes(counter)) continue;
      const versions = out.get(server) ?? new Map<string, Record<CounterName, number>>();
      out.set(server, versions);
      const row = versions.get(version) ?? { events: 0, errors: 0, limits: 0, faults: 0, swapOk: 0, swapRefused: 0 };
      versions.set(version, row);
      row[counter as CounterName] = n;
    }
    return out;
  }

  /** Records that `server` refused the release's version. */
  async refuse(mod: string, releaseId: string, refusal: Refusal): Promise<void> {
    await this.#redis.command(["HSET", this.keys.refusals(mod, releaseId), refusal.server, JSON.stringify(refusal)]);
  }

  /** The refusals of a release (malformed ones are kept as "E_FLEET_DATA" refusals: a refusal is a refusal). */
  async refusals(mod: string, releaseId: string): Promise<Refusal[]> {
    const flat = strings(await this.#redis.command(["HGETALL", this.keys.refusals(mod, releaseId)]));
    const out: Refusal[] = [];
    for (let i = 0; i + 1 < flat.length && out.length < 1000; i += 2) {
      const server = flat[i] as string;
      if (!isFleetId(server)) continue;
      out.push(parseRefusal(flat[i + 1] as string, server));
    }
    return out;
  }

  /** The newest audit entries (of one mod, when given), oldest first. */
  async audit(count: number, mod?: string): Promise<AuditEntry[]> {
    const answer = await this.#redis.command(["XREVRANGE", this.keys.audit, "+", "-", "COUNT", String(mod === undefined ? count : Math.min(count * 20, 10_000))]);
    const out: AuditEntry[] = [];
    for (const item of streamEntries(answer)) {
      const m = item.fields.mod;
      const epoch = Number(item.fields.epoch);
      if (!isModName(m) || (mod !== undefined && m !== mod) || !Number.isSafeInteger(epoch)) continue;
      let entry: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(item.fields.entry ?? "null");
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) entry = parsed as Record<string, unknown>;
      } catch {
        entry = { malformed: true };
      }
      out.push({ id: item.id, mod: m, epoch, entry });
      if (out.length >= count) break;
    }
    return out.reverse();
  }

  /** The id of the channel's newest entry ("0-0" when empty). */
  async channelTail(): Promise<string> {
    const answer = await this.#redis.command(["XREVRANGE", this.keys.channel, "+", "-", "COUNT", "1"]);
    return streamEntries(answer)[0]?.id ?? "0-0";
  }
}

/** Sums a window's counters (end minus start) per version over the servers in `alive`. */
export function windowFigures(start: HealthCounters, end: HealthCounters, version: string | null, alive: ReadonlySet<string>): { events: number; errors: number; limits: number; faults: number; servers: number } {
  if (version === null) return NO_FIGURES;
  let events = 0, errors = 0, limits = 0, faults = 0, servers = 0;
  for (const [server, versions] of end) {
    if (!alive.has(server)) continue;
    const now = versions.get(version);
    if (now === undefined) continue;
    const before = start.get(server)?.get(version);
    const d = (k: CounterName): number => Math.max(0, now[k] - (before?.[k] ?? 0));
    if (d("events") + d("faults") > 0) servers++;
    events += d("events");
    errors += d("errors");
    limits += d("limits");
    faults += d("faults");
  }
  return { events, errors, limits, faults, servers };
}

function strings(answer: unknown): string[] {
  if (!Array.isArray(answer)) throw new ModhostError("E_FLEET_DATA", `Redis answered ${typeof answer} where a list was expected`);
  return answer.filter((x): x is string => typeof x === "string");
}

/** Parses XRANGE/XREAD entries: [[id, [field, value, ...]], ...]; malformed ones are skipped. */
export function streamEntries(answer: unknown): { id: string; fields: Record<string, string> }[] {
  if (!Array.isArray(answer)) return [];
  const out: { id: string; fields: Record<string, string> }[] = [];
  for (const item of answer) {
    if (!Array.isArray(item) || typeof item[0] !== "string" || !Array.isArray(item[1])) continue;
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    const flat = item[1] as unknown[];
    for (let i = 0; i + 1 < flat.length && i < 64; i += 2) if (typeof flat[i] === "string" && typeof flat[i + 1] === "string") fields[flat[i] as string] = flat[i + 1] as string;
    out.push({ id: item[0], fields });
  }
  return out;
}

function parseHeartbeat(value: unknown, id: string): Heartbeat | undefined {
  if (typeof value !== "string" || value.length > 64 * 1024) return undefined;
  try {
    const o = JSON.parse(value) as Record<string, unknown>;
    if (typeof o !== "object" || o === null || o.server !== id || typeof o.at !== "number") return undefined;
    const mods: Record<string, string> = {};
    if (typeof o.mods === "object" && o.mods !== null) for (const [m, v] of Object.entries(o.mods)) if (isModName(m) && typeof v === "string" && v.length <= 64) mods[m] = v;
    return { server: id, group: isFleetId(o.group) ? o.group : null, mods, at: o.at };
  } catch {
    return undefined;
  }
}

function parseRefusal(value: string, server: string): Refusal {
  try {
    const o = JSON.parse(value) as Record<string, unknown>;
    if (typeof o === "object" && o !== null && typeof o.version === "string" && typeof o.code === "string" && typeof o.message === "string") return { server, version: o.version.slice(0, 64), code: o.code.slice(0, 64), message: o.message.slice(0, 500) };
  } catch {
    // fall through: malformed
  }
  return { server, version: "?", code: "E_FLEET_DATA", message: "a malformed refusal record" };
}

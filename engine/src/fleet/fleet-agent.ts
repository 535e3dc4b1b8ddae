import { KeyedMutex } from "../util/keyed-mutex.js";
import { ModhostError, isModhostError, messageOf, type ErrorInfo } from "../errors/modhost-error.js";
import { cohortPlace } from "./cohort.js";
import { FleetController, type ControllerEvent } from "./fleet-controller.js";
import { connectFleet, redact, type FleetConnection } from "./fleet-redis.js";
import { FleetStore, streamEntries, type CounterName } from "./fleet-store.js";
import { targetVersion, type ReleaseRecord } from "./release-record.js";

/** The `fleet` option after validation. */
export interface FleetSettings {
  readonly redis: string;
  readonly server: string;
  readonly group?: string;
  readonly heartbeatMs: number;
  /** How often every release is read even without a stream entry (the backstop), ms. */
  readonly backstopMs: number;
  /**
   * Controller lease time to live, ms. A rolling release that nobody has changed for this long
   * and whose lease is free (its controller died or was detached) is driven by a server.
   */
  readonly leaseMs: number;
  readonly prefix?: string;
}

/** What a swap to a fleet version came to. */
export interface FleetInstallOutcome {
  readonly ok: boolean;
  readonly error?: ErrorInfo;
}

/** What the agent needs from its host. */
export interface FleetHostPort {
  /** The live version of `mod`, if it is loaded and running. */
  live(mod: string): string | undefined;
  /** Pulls `pkg@version` from the registry, verifies it and swaps it in (state carried, migrated where the shape differs). */
  install(mod: string, pkg: string, version: string): Promise<FleetInstallOutcome>;
  log(level: "info" | "warn" | "error", message: string, mod?: string): void;
}

/** One emit result, as the host reports it. */
export interface FleetResult {
  readonly mod: string;
  readonly version: string;
  readonly ok: boolean;
  readonly error?: { readonly code: string };
}

const LIMIT_CODES = new Set(["E_TIMEOUT", "E_MEMORY_LIMIT", "E_QUARANTINED", "E_CAPABILITY_LIMIT"]);

/**
 * One server's side of the fleet. It follows every mod's release state (a blocking XREAD on the
 * channel stream, plus a full read every backstopMs, so nothing is missed across a disconnect),
 * swaps each mod to the version its cohort says through the host's verified registry install, and
 * reports health: a heartbeat with an expiry, and per mod and version counters of events, errors,
 * limit hits, faults and swap outcomes. While Redis is unreachable it keeps every current version
 * and retries with backoff; it never takes the host down.
 */
export class FleetAgent {
  readonly #settings: FleetSettings;
  readonly #port: FleetHostPort;
  readonly #redis: FleetConnection;
  readonly #blocking: FleetConnection;
  readonly #store: FleetStore;
  readonly #releases = new Map<string, ReleaseRecord>();
  /** (mod, version, counter) -> count not yet written to Redis. */
  readonly #pending = new Map<string, number>();
  /** `${releaseId} ${version}` the server refused: not tried again for that release. */
  readonly #refused = new Set<string>();
  readonly #badData = new Map<string, string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** The run of each timed loop in flight (close() waits for the heartbeat's). */
  readonly #running = new Map<string, Promise<void>>();
  /** Installs run one at a time, in the order the release records asked for them. */
  readonly #installs = new KeyedMutex<"install">();
  #syncing = new Map<string, Promise<void>>();
  /** Releases this server drives (it took their controller lease): mod -> how to stop it. */
  readonly #driving = new Map<string, { readonly stop: AbortController; readonly done: Promise<void> }>();
  #streamId: string | undefined;
  #closed = false;
  /** close() has begun: no new release is taken over (set before close() awaits anything). */
  #closing = false;
  #down = false;
  #loop: Promise<void> | undefined;

  constructor(settings: FleetSettings, port: FleetHostPort) {
    this.#settings = settings;
    this.#port = port;
    const onError = (message: string): void => this.#lost(message);
    this.#redis = connectFleet(settings.redis, { onError });
    this.#blocking = connectFleet(settings.redis, { onError });
    this.#store = new FleetStore(this.#redis, settings.prefix);
  }

  /** Starts following (returns at once; Redis may be down). */
  start(): void {
    this.#port.log("info", `fleet: server ${this.#settings.server}${this.#settings.group !== undefined ? ` (group ${this.#settings.group})` : ""} follows releases on ${redact(this.#settings.redis)}`);
    this.#loop = this.#follow();
    const every = (name: string, ms: number, fn: () => Promise<void>): void => {
      const tick = (): void => {
        const run = fn().catch((err: unknown) => this.#lost(messageOf(err))).finally(() => {
          this.#running.delete(name);
          if (!this.#closed) this.#timers.set(name, setTimeout(tick, ms));
        });
        this.#running.set(name, run);
      };
      this.#timers.set(name, setTimeout(tick, ms));
    };
    every("heartbeat", this.#settings.heartbeatMs, () => this.#beat());
    every("backstop", this.#settings.backstopMs, async () => {
      await this.syncAll();
      await this.#takeOver();
    });
  }

  /** Counts emit results per mod and version. */
  record(results: readonly FleetResult[]): void {
    for (const r of results) {
      this.#count(r.mod, r.version, "events");
      if (!r.ok) {
        this.#count(r.mod, r.version, "errors");
        if (r.error !== undefined && LIMIT_CODES.has(r.error.code)) this.#count(r.mod, r.version, "limits");
      }
    }
  }

  /** Counts a fault of `mod` against its live version. */
  fault(mod: string): void {
    const version = this.#port.live(mod);
    if (version !== undefined) this.#count(mod, version, "faults");
  }

  /** Reads every release and converges (the backstop; also right after connecting). */
  async syncAll(): Promise<void> {
    if (!this.#redis.ready) return;
    for (const mod of await this.#store.mods()) await this.sync(mod);
  }

  /** Reads one mod's release and swaps to the version its cohort says. Joins a sync under way. */
  sync(mod: string): Promise<void> {
    const running = this.#syncing.get(mod);
    if (running !== undefined) return running.then(() => this.sync(mod));
    const task = this.#syncNow(mod).finally(() => this.#syncing.delete(mod));
    this.#syncing.set(mod, task);
    return task;
  }

  async #syncNow(mod: string): Promise<void> {
    let record: ReleaseRecord | undefined;
    try {
      record = await this.#store.release(mod);
    } catch (err) {
      if (err instanceof ModhostError && err.code === "E_FLEET_DATA") {
        // Logged once per distinct problem: hostile data must not flood the log either.
        if (this.#badData.get(mod) !== err.message) this.#port.log("error", `fleet: ${err.message}; keeping the current version`, mod);
        this.#badData.set(mod, err.message);
        return;
      }
      throw err;
    }
    this.#badData.delete(mod);
    if (record === undefined) return;
    const known = this.#releases.get(mod);
    if (known !== undefined && known.releaseId !== record.releaseId) await this.#flush();
    this.#releases.set(mod, record);
    const live = this.#port.live(mod);
    if (live === undefined) return; // the server does not run this mod
    const cohort = record.pinned.includes(this.#settings.server) || cohortPlace(this.#settings.server, mod, record.releaseId) < record.percent;
    const target = targetVersion(record, cohort, this.#settings.group);
    if (target === undefined || target === live) return;
    const key = `${record.releaseId} ${target}`;
    if (this.#refused.has(key)) return;
    await this.#install(record, target);
  }

  #install(record: ReleaseRecord, version: string): Promise<void> {
    const task = this.#installs.run("install", async () => {
      if (this.#closed || this.#port.live(record.mod) === version) return;
      this.#port.log("info", `fleet: ${record.mod} -> ${version} (release ${record.releaseId}, ${record.phase} at ${record.percent} %)`, record.mod);
      let outcome: FleetInstallOutcome;
      try {
        outcome = await this.#port.install(record.mod, record.package, version);
      } catch (err) {
        const info = err instanceof ModhostError ? err.toInfo() : { code: "E_INTERNAL" as const, message: messageOf(err) };
        outcome = { ok: false, error: info };
      }
      if (outcome.ok) {
        this.#count(record.mod, version, "swapOk");
        return;
      }
      const error = outcome.error ?? { code: "E_INTERNAL", message: "the install failed" };
      // Redis or the registry being away is not a refusal of the version: it is retried.
      if (error.code === "E_REGISTRY_UNAVAILABLE" || error.code === "E_FLEET_UNAVAILABLE" || error.code === "E_HOST_CLOSED") {
        this.#port.log("warn", `fleet: ${record.mod}@${version} not installed yet: ${error.code}: ${error.message}; retrying on the next read`, record.mod);
        return;
      }
      this.#refused.add(`${record.releaseId} ${version}`);
      this.#count(record.mod, version, "swapRefused");
      this.#port.log("error", `fleet: this server refuses ${record.mod}@${version}: ${error.code}: ${error.message}; it keeps ${this.#port.live(record.mod) ?? "nothing"}`, record.mod);
      await this.#store.refuse(record.mod, record.releaseId, { server: this.#settings.server, version, code: error.code, message: error.message }).catch((err: unknown) => this.#lost(messageOf(err)));
    });
    return task.catch((err: unknown) => this.#port.log("error", `fleet: install of ${record.mod}@${version}: ${messageOf(err)}`, record.mod));
  }

  /**
   * Drives every rolling release whose controller is gone: one not changed for leaseMs whose
   * lease this server can take (the Lua lease lets one server win). The release goes on from its
   * stored step with a fresh window; every write stays fenced by the epoch and the lease, so a
   * controller that was only stalled gets E_FLEET_CONFLICT or E_FLEET_LEASE, never a double step.
   */
  async #takeOver(): Promise<void> {
    if (this.#closing || !this.#redis.ready) return;
    const owner = `server.${this.#settings.server}`;
    for (const record of this.#releases.values()) {
      const mod = record.mod;
      // A release just written may not have its controller's lease yet: give it leaseMs.
      if (record.phase !== "rolling" || this.#driving.has(mod) || Date.now() - record.updatedAt < this.#settings.leaseMs) continue;
      try {
        await this.#store.takeLease(mod, owner, this.#settings.leaseMs);
      } catch (err) {
        // Another controller (a CLI or another server) holds it: that one drives.
        if (isModhostError(err, "E_FLEET_LEASE")) continue;
        throw err;
      }
      if (this.#closing) {
        // close() began while the lease was being taken: give it back, or it would wait out its time.
        await this.#store.dropLease(mod, owner);
        return;
      }
      this.#port.log("info", `fleet: server ${this.#settings.server} drives the release ${record.releaseId} of ${mod} (no controller held its lease)`, mod);
      const stop = new AbortController();
      const onEvent = (e: ControllerEvent): void => {
        if (e.kind === "transition") this.#port.log("info", `fleet: ${e.transition.action} ${mod} ${e.transition.record.canary} at ${e.transition.record.percent} %: ${e.transition.record.reason}`, mod);
      };
      const controller = new FleetController({ store: this.#store, owner, leaseMs: this.#settings.leaseMs, onEvent });
      const done = controller.drive(mod, stop.signal).then(
        (final) => this.#port.log("info", `fleet: stopped driving ${mod} (${final.phase} at ${final.percent} %)`, mod),
        (err: unknown) => this.#port.log("warn", `fleet: stopped driving ${mod}: ${messageOf(err)}; it is taken over again once its lease expires`, mod),
      ).finally(() => this.#driving.delete(mod));
      this.#driving.set(mod, { stop, done });
    }
  }

  async #follow(): Promise<void> {
    while (!this.#closed) {
      try {
        if (!this.#blocking.ready || !this.#redis.ready) {
          await sleep(100);
          continue;
        }
        if (this.#streamId === undefined) {
          // Read the tail first, then everything: an entry written in between is read twice, never missed.
          this.#streamId = await this.#store.channelTail();
          await this.syncAll();
          if (this.#down) this.#port.log("info", "fleet: Redis is reachable again; converged with the release state");
          this.#down = false;
        }
        const answer = await this.#blocking.command(["XREAD", "COUNT", "100", "BLOCK", "2000", "STREAMS", this.#store.keys.channel, this.#streamId]);
        if (answer === null) continue;
        const streams = Array.isArray(answer) ? answer : [];
        const mods = new Set<string>();
        for (const s of streams) {
          if (!Array.isArray(s)) continue;
          for (const entry of streamEntries(s[1])) {
            this.#streamId = entry.id;
            if (entry.fields.mod !== undefined) mods.add(entry.fields.mod);
          }
        }
        for (const mod of mods) await this.sync(mod).catch((err: unknown) => this.#port.log("warn", `fleet: ${messageOf(err)}`, mod));
      } catch (err) {
        if (this.#closed) return;
        this.#lost(messageOf(err));
        // After an outage everything is read again (the stream may have been trimmed meanwhile).
        this.#streamId = undefined;
        await sleep(250);
      }
    }
  }

  async #beat(): Promise<void> {
    if (!this.#redis.ready) return;
    const mods: Record<string, string> = {};
    for (const mod of this.#releases.keys()) {
      const live = this.#port.live(mod);
      if (live !== undefined) mods[mod] = live;
    }
    await this.#store.heartbeat({ server: this.#settings.server, group: this.#settings.group ?? null, mods, at: Date.now() }, this.#settings.heartbeatMs * 3);
    await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#pending.size === 0 || !this.#redis.ready) return;
    const batch = [...this.#pending];
    this.#pending.clear();
    const byRelease = new Map<string, { mod: string; releaseId: string; counts: { server: string; version: string; counter: CounterName; n: number }[] }>();
    for (const [key, n] of batch) {
      const [mod, version, counter] = key.split("\u0000") as [string, string, CounterName];
      const release = this.#releases.get(mod);
      if (release === undefined) continue;
      const group = byRelease.get(mod) ?? { mod, releaseId: release.releaseId, counts: [] };
      byRelease.set(mod, group);
      group.counts.push({ server: this.#settings.server, version, counter, n });
    }
    try {
      for (const g of byRelease.values()) await this.#store.addCounts(g.mod, g.releaseId, g.counts);
    } catch (err) {
      // Not written: counted again next time, so no event goes unreported.
      for (const [key, n] of batch) this.#pending.set(key, (this.#pending.get(key) ?? 0) + n);
      throw err;
    }
  }

  #count(mod: string, version: string, counter: CounterName): void {
    if (!this.#releases.has(mod)) return; // a mod without a release has no one to report to
    const key = `${mod}\u0000${version}\u0000${counter}`;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
  }

  #lost(message: string): void {
    if (this.#closed || this.#down) return;
    this.#down = true;
    this.#port.log("warn", `fleet: Redis at ${redact(this.#settings.redis)} is unreachable (${message}); serving the current versions, reconnecting with backoff`);
  }

  /** Stops the loops, writes the last counters and removes the heartbeat (best effort), closes both connections. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    // Releases it drives stop first, giving their leases up so another server takes over at once.
    for (const d of this.#driving.values()) d.stop.abort();
    await Promise.all([...this.#driving.values()].map((d) => d.done));
    await this.#installs.idle("install");
    // No heartbeat after this one: the one in flight would write back the key deleted below.
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    await this.#running.get("heartbeat");
    // Best effort: the counters' keys expire anyway, and Redis may be the thing that is gone.
    await this.#flush().catch((err: unknown) => this.#port.log("warn", `fleet: last counters not written: ${messageOf(err)}`));
    // A stopped server leaves the live list at once rather than after its heartbeat's expiry, so a
    // release window or `fleet status` read meanwhile does not count it (it stays in the expired list).
    if (this.#redis.ready) await this.#store.leave(this.#settings.server).catch((err: unknown) => this.#port.log("warn", `fleet: heartbeat not removed (it expires in ${this.#settings.heartbeatMs * 3} ms): ${messageOf(err)}`));
    await Promise.all([this.#redis.close(), this.#blocking.close()]);
    await this.#loop;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

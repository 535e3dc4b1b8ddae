import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectFleet, FleetController, FleetStore, type ControllerEvent, type FleetConnection, type ReleasePolicy } from "modhost";
import { FleetServer } from "../support/fleet-fleet.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { makePublisher, writeTrust, type Publisher } from "../support/signed-mod.js";
import { startRegistry, type TestRegistry } from "../support/verdaccio.js";
import { allStarted } from "../support/all-started.js";

/** The counter mod: state { n }, every `hit` adds one and answers { v, n }. `failEvery` makes it throw on every n-th event. */
export function counterSource(tag: string, failEvery?: number): string {
  return `import { defineMod } from "@modhost/sdk";
type State = { n: number };
export default defineMod<State>({
  init: () => ({ n: 0 }),
  migrate: (old: unknown) => ({ n: (old as State).n }),
  on: {
    hit(state) {
      state.n++;
      ${failEvery !== undefined ? `if (state.n % ${failEvery} === 0) throw new Error("canary bug at " + state.n);` : ""}
      return { v: "${tag}", n: state.n };
    },
  },
});
`;
}

export const manifest = (version: string): object => ({ name: "counter", version, entry: "main.ts", permissions: [] });
export const PACKAGE = "@studio/counter";
const UNDONE = new Set(["E_TIMEOUT", "E_MEMORY_LIMIT", "E_QUARANTINED", "E_PERSIST_FAILED", "E_SANDBOX_UNAVAILABLE"]);

/** A fleet of real host processes around a real Redis and a real npm registry. */
export interface Fleet {
  readonly work: string;
  readonly redis: TestRedis;
  readonly registry: TestRegistry;
  readonly publisher: Publisher;
  readonly trust: string;
  readonly servers: FleetServer[];
  readonly connection: FleetConnection;
  readonly store: FleetStore;
  /** Events each server has emitted and had answered, minus those a limit undid, to check that none was lost. */
  readonly emitted: Map<string, number>;
  controller(owner: string, events?: ControllerEvent[]): FleetController;
  /** Publishes counter@version (signed by the trusted key, or by `by`). */
  publish(version: string, source: string, by?: Publisher): Promise<void>;
  /** Publishes several versions in the order given. */
  publishAll(list: readonly { version: string; source: string; by?: Publisher }[]): Promise<void>;
  startServer(name: string, group?: string): Promise<FleetServer>;
  /** SIGKILLs a server and starts it again on the same modsDir and stateDir. */
  restart(server: FleetServer): Promise<FleetServer>;
  /** Emits `n` events on every server, again and again, until `until` settles; resolves with its value. */
  traffic<T>(until: Promise<T>, n?: number): Promise<T>;
  close(): Promise<void>;
}

export const POLICY: ReleasePolicy = { steps: [5, 25, 100], intervalMs: 1500, maxErrorRate: 0.05, minEvents: 20, failureLimit: 2, deadlineMs: 60_000 };

/** How a test fleet is made: server i (0-based) is "s<i+1>" in group groups[i] (none when absent). */
export interface FleetSetup {
  readonly groups?: readonly (string | undefined)[];
  /** The servers' controller lease, ms (they drive a release whose lease is free this long). */
  readonly leaseMs?: number;
  /** Versions to publish (see publishAll) once the servers have started. */
  readonly packages?: readonly { version: string; source: string; by?: Publisher }[];
}

export async function startFleet(count: number, setup: FleetSetup = {}): Promise<Fleet> {
  const [redis, registry, publisher] = await allStarted<[TestRedis, TestRegistry, Publisher]>([startRedis(), startRegistry(), makePublisher()], [(r) => r.stop(), (r) => r.stop(), (p) => p.cleanup()]);
  const work = await mkdtemp(join(tmpdir(), "modhost-fleet-"));
  const trust = await writeTrust(join(work, "trust.json"), [{ key: publisher.publicKey, mods: ["counter"] }]);
  const connection = connectFleet(redis.url);
  for (let i = 0; i < 100 && !connection.ready; i++) await new Promise((r) => setTimeout(r, 50));
  const store = new FleetStore(connection);
  const servers: FleetServer[] = [];
  const emitted = new Map<string, number>();
  const fleet: Fleet = {
    work,
    redis,
    registry,
    publisher,
    trust,
    servers,
    connection,
    store,
    emitted,
    controller: (owner, events) => new FleetController({ store, owner, leaseMs: 3000, ...(events !== undefined ? { onEvent: (e) => events.push(e) } : {}) }),
    async publish(version, source, by = publisher) {
      const packed = await by.pack(`counter-${version}`, { "mod.json": manifest(version), "main.ts": source }, { name: PACKAGE });
      await registry.publish(packed.file);
    },
    async publishAll(list) {
      // One at a time: each `modhost pack` is a CPU-bound process with a 60 s limit, and on a
      // loaded two-core machine two of them at once (or beside the servers' start) ran past it.
      for (const p of list) await fleet.publish(p.version, p.source, p.by);
    },
    async startServer(name, group) {
      const modsDir = join(work, name, "mods");
      await mkdir(join(modsDir, "counter"), { recursive: true });
      await writeFile(join(modsDir, "counter", "mod.json"), JSON.stringify(manifest("1.0.0")));
      await writeFile(join(modsDir, "counter", "main.ts"), counterSource("1.0.0"));
      const server = await FleetServer.start({ modsDir, stateDir: join(work, name, "state"), redis: redis.url, server: name, ...(group !== undefined ? { group } : {}), registry: registry.url, token: registry.token, trust, heartbeatMs: 200, backstopMs: 1000, ...(setup.leaseMs !== undefined ? { leaseMs: setup.leaseMs } : {}) }, 120_000);
      servers.push(server);
      return server;
    },
    async restart(server) {
      await server.kill();
      const again = await FleetServer.start(server.config, 120_000);
      servers[servers.indexOf(server)] = again;
      return again;
    },
    async traffic(until, n = 10) {
      let done = false;
      const settled = until.finally(() => (done = true));
      while (!done) {
        // A paused (SIGSTOPped) server answers nothing: the game would not route players to it.
        await Promise.all(servers.filter((s) => !s.paused).map(async (s) => {
          const r = await s.emit(n);
          if (r.ok + r.failed !== n) throw new Error(`${s.name}: ${n} events emitted, ${r.ok + r.failed} answered`);
          // An event cut by a limit is answered as such and its effects are undone (by design):
          // it is not an event lost, so the state is expected to hold the others only.
          const undone = Object.entries(r.codes ?? {}).filter(([code]) => UNDONE.has(code)).reduce((sum, [, k]) => sum + k, 0);
          emitted.set(s.name, (emitted.get(s.name) ?? 0) + n - undone);
        }));
        await new Promise((r) => setTimeout(r, 50));
      }
      return settled;
    },
    async close() {
      for (const s of servers) if (s.paused) s.resume();
      await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
      await connection.close();
      await Promise.all([redis.stop(), registry.stop(), publisher.cleanup()]);
      await rm(work, { recursive: true, force: true });
    },
  };
  try {
    const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => fleet.startServer(`s${i + 1}`, setup.groups?.[i])));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    // They started in parallel and were listed as each came up: servers[i] is s<i+1> from here on.
    servers.sort((x, y) => Number(x.name.slice(1)) - Number(y.name.slice(1)));
    await fleet.publishAll(setup.packages ?? []);
  } catch (err) {
    // The caller never gets the fleet to close: its processes must not outlive the file.
    await fleet.close();
    throw err;
  }
  return fleet;
}

/** A counter whose migrate also takes the `hits` shape back (a stable version an aborted reshaping canary returns to). */
export function counterTakingHits(tag: string): string {
  return `import { defineMod } from "@modhost/sdk";
type State = { n: number };
export default defineMod<State>({
  init: () => ({ n: 0 }),
  migrate: (old: unknown) => {
    const o = old as { n?: number; hits?: number };
    return { n: o.n ?? o.hits ?? 0 };
  },
  on: {
    hit(state) {
      state.n++;
      return { v: "${tag}", n: state.n };
    },
  },
});
`;
}

/** The counter with another state shape ({ hits, last }), migrated from { n }. */
export function hitsSource(tag: string): string {
  return `import { defineMod } from "@modhost/sdk";
type State = { hits: number; last: string };
export default defineMod<State>({
  init: () => ({ hits: 0, last: "" }),
  migrate: (old: unknown) => ({ hits: (old as { n: number }).n, last: "migrated" }),
  on: {
    hit(state) {
      state.hits++;
      state.last = "${tag}";
      return { v: "${tag}", n: state.hits };
    },
  },
});
`;
}

/** Polls `probe` every 100 ms until it answers something other than undefined/false; throws after timeoutMs. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

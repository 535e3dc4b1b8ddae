import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectFleet, FleetController, FleetStore, type ControllerEvent, type FleetConnection, type ReleasePolicy } from "modhost";
import { FleetServer } from "../support/fleet-fleet.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { makePublisher, writeTrust, type Publisher } from "../support/signed-mod.js";
import { startRegistry, type TestRegistry } from "../support/verdaccio.js";

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
  startServer(name: string, group?: string): Promise<FleetServer>;
  /** SIGKILLs a server and starts it again on the same modsDir and stateDir. */
  restart(server: FleetServer): Promise<FleetServer>;
  /** Emits `n` events on every server, again and again, until `until` settles; resolves with its value. */
  traffic<T>(until: Promise<T>, n?: number): Promise<T>;
  close(): Promise<void>;
}

export const POLICY: ReleasePolicy = { steps: [5, 25, 100], intervalMs: 1500, maxErrorRate: 0.05, minEvents: 20, failureLimit: 2, deadlineMs: 60_000 };

export async function startFleet(count: number): Promise<Fleet> {
  const work = await mkdtemp(join(tmpdir(), "modhost-fleet-"));
  const [redis, registry, publisher] = await Promise.all([startRedis(), startRegistry(), makePublisher()]);
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
    async startServer(name, group) {
      const modsDir = join(work, name, "mods");
      await mkdir(join(modsDir, "counter"), { recursive: true });
      await writeFile(join(modsDir, "counter", "mod.json"), JSON.stringify(manifest("1.0.0")));
      await writeFile(join(modsDir, "counter", "main.ts"), counterSource("1.0.0"));
      const server = await FleetServer.start({ modsDir, stateDir: join(work, name, "state"), redis: redis.url, server: name, ...(group !== undefined ? { group } : {}), registry: registry.url, token: registry.token, trust, heartbeatMs: 200, backstopMs: 1000 }, 120_000);
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
        await Promise.all(servers.map(async (s) => {
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
      await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
      await connection.close();
      await Promise.all([redis.stop(), registry.stop(), publisher.cleanup()]);
      await rm(work, { recursive: true, force: true });
    },
  };
  await Promise.all(Array.from({ length: count }, (_, i) => fleet.startServer(`s${i + 1}`)));
  return fleet;
}

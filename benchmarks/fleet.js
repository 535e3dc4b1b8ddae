// Fleet releases on Redis: how long from a release step to every cohort server answering with the
// new version, and how many Redis commands each server costs, at rest and during a rollout.
//
//   node --no-node-snapshot benchmarks/fleet.js [--servers 10] [--out <file>]
//
//   fleet.step_to_cohort_ms       controller.start() at 50 % -> every server of the cohort answers
//                                 an event with the new version (stream read, packument, download,
//                                 verify, deploy, compile, type-check, swap; on one machine)
//   fleet.promote_to_all_ms       operator promote -> every server answers with the new version
//   fleet.redis_cmds_per_server_s.rest     Redis commands per server per second with no rollout
//                                          (heartbeat 2 s, backstop 15 s, blocking XREAD 2 s)
//   fleet.redis_cmds_per_server_s.rollout  the same during the rollout (servers emitting events)
//
// Real parts: redis-server, Verdaccio, `npm publish`, N host processes (test/support/fleet-server.mjs).
// Prints one JSON object { date, params, metrics } and writes it to --out if given.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startVerdaccio } from "./lib/verdaccio.js";

const { generateKeyPair, publicKeyLine } = await import("../engine/dist/registry/minisign-key.js");
const { packMod } = await import("../engine/dist/registry/mod-packer.js");
const { connectFleet, FleetStore, FleetController, cohortPlace } = await import("modhost");

const args = { servers: 10, out: undefined };
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === "--servers") args.servers = Number(process.argv[++i]);
  else if (process.argv[i] === "--out") args.out = process.argv[++i];
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();


async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(dir) {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      if (/Ready to accept connections/.test(out)) resolve();
    });
    child.once("close", (code) => reject(new Error(`redis-server exited ${code}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => new Promise((r) => { child.once("close", r); child.kill("SIGTERM"); }) };
}


/** A host process of the fleet (test/support/fleet-server.mjs), driven by JSON lines. */
function startServer(config) {
  const script = fileURLToPath(new URL("../test/support/fleet-server.mjs", import.meta.url));
  const child = spawn(process.execPath, ["--no-node-snapshot", script, JSON.stringify(config)], { stdio: ["pipe", "pipe", "inherit"] });
  const waiters = new Map();
  const seen = [];
  let ready;
  const readyP = new Promise((r) => (ready = r));
  let buf = "";
  let id = 0;
  child.stdout.setEncoding("utf8").on("data", (c) => {
    buf += c;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (line.type === "ready") ready();
      if (line.type === "log" && /^fleet: counter -> /.test(line.message)) seen.push({ at: now(), what: "install", message: line.message });
      if (line.type === "swap") seen.push({ at: now(), what: "swap", ok: line.ok, to: line.to });
      if (typeof line.id === "number") waiters.get(line.id)?.(line);
    }
  });
  const request = (cmd) => new Promise((resolve) => {
    const n = ++id;
    waiters.set(n, (l) => { waiters.delete(n); resolve(l); });
    child.stdin.write(`${JSON.stringify({ ...cmd, id: n })}\n`);
  });
  return {
    name: config.server,
    seen,
    ready: readyP,
    emit: (n) => request({ cmd: "emit", n }),
    stop: async () => { await request({ cmd: "close" }).catch(() => undefined); },
  };
}

const counterSource = (rev) => `import { defineMod } from "@modhost/sdk";
type State = { n: number };
export default defineMod<State>({ init: () => ({ n: 0 }), migrate: (o: unknown) => ({ n: (o as State).n }), on: { hit(s) { s.n++; return { rev: ${rev}, n: s.n }; } } });
`;

async function commands(connection) {
  const info = await connection.command(["INFO", "stats"]);
  return Number(/total_commands_processed:(\d+)/.exec(String(info))?.[1] ?? 0);
}

const dir = await mkdtemp(join(tmpdir(), "modhost-bench-fleet-"));
const metrics = {};
const servers = [];
let redis;
let registry;
let connection;
try {
  [redis, registry] = await Promise.all([startRedis(dir), startVerdaccio(dir)]);
  const key = generateKeyPair();
  await writeFile(join(dir, "trust.json"), JSON.stringify({ keys: [{ key: publicKeyLine(key.publicKey), mods: ["counter"] }] }));
  for (const rev of [0, 1]) {
    const modDir = join(dir, "src", `rev${rev}`);
    await mkdir(modDir, { recursive: true });
    await writeFile(join(modDir, "mod.json"), JSON.stringify({ name: "counter", version: `1.0.${rev}`, entry: "main.ts", permissions: [] }));
    await writeFile(join(modDir, "main.ts"), counterSource(rev));
    const packed = await packMod(modDir, key, { packageName: "@bench/counter" });
    await writeFile(join(dir, `counter-${rev}.tgz`), packed.tarball);
    await registry.publish(join(dir, `counter-${rev}.tgz`));
  }
  for (let i = 0; i < args.servers; i++) {
    const modsDir = join(dir, `s${i}`, "mods");
    await mkdir(join(modsDir, "counter"), { recursive: true });
    await writeFile(join(modsDir, "counter", "mod.json"), JSON.stringify({ name: "counter", version: "1.0.0", entry: "main.ts", permissions: [] }));
    await writeFile(join(modsDir, "counter", "main.ts"), counterSource(0));
    servers.push(startServer({ modsDir, stateDir: join(dir, `s${i}`, "state"), redis: redis.url, server: `s${i}`, registry: registry.url, token: registry.token, trust: join(dir, "trust.json"), heartbeatMs: 2000, backstopMs: 15_000 }));
  }
  await Promise.all(servers.map((s) => s.ready));
  connection = connectFleet(redis.url);
  while (!connection.ready) await sleep(20);
  const store = new FleetStore(connection);
  const controller = new FleetController({ store, owner: "bench" });
  const policy = { steps: [100], intervalMs: 60_000, maxErrorRate: 0.05, minEvents: 100, failureLimit: 2, deadlineMs: 600_000 };
  await controller.start({ mod: "counter", package: "@bench/counter", version: "1.0.0", releaseId: "r0", group: null, policy, by: "bench", now: Date.now() });
  await sleep(3000);

  // At rest: commands over 10 s, minus the benchmark's own two INFO calls.
  let c0 = await commands(connection);
  let t0 = now();
  await sleep(10_000);
  let c1 = await commands(connection);
  metrics["fleet.redis_cmds_per_server_s.rest"] = +(((c1 - c0 - 1) / ((now() - t0) / 1000)) / args.servers).toFixed(2);

  // A step: 50 % of the fleet gets 1.0.1; time until every cohort server answers with it.
  const emitting = { on: true };
  const traffic = Promise.all(servers.map(async (s) => { while (emitting.on) { await s.emit(5); await sleep(100); } }));
  c0 = await commands(connection);
  t0 = now();
  const startedAt = now();
  await controller.start({ mod: "counter", package: "@bench/counter", version: "1.0.1", releaseId: "r1", group: null, policy: { ...policy, steps: [50, 100] }, by: "bench", now: Date.now() });
  const record = await store.release("counter");
  const cohort = servers.filter((s) => record.pinned.includes(s.name) || cohortPlace(s.name, "counter", "r1") < 50);
  const answered = async (group) => {
    for (;;) {
      const versions = await Promise.all(group.map(async (s) => Object.keys((await s.emit(1)).versions)[0]));
      if (versions.every((v) => v === "1.0.1")) return;
      await sleep(20);
    }
  };
  await answered(cohort);
  metrics["fleet.step_to_cohort_ms"] = Math.round(now() - startedAt);
  const lag = (what) => cohort.map((s) => s.seen.find((e) => e.what === what && e.at >= startedAt)?.at - startedAt).filter((x) => x >= 0);
  // Where the time goes: the stream notice (release written -> install starts) vs pull + verify + compile + swap.
  metrics["fleet.step_to_install_start_ms.max"] = Math.round(Math.max(...lag("install")));
  metrics["fleet.step_to_swap_ms.max"] = Math.round(Math.max(...lag("swap")));
  metrics["fleet.cohort_servers"] = cohort.length;
  const promotedAt = now();
  await controller.command("counter", "promote");
  await answered(servers);
  metrics["fleet.promote_to_all_ms"] = Math.round(now() - promotedAt);
  c1 = await commands(connection);
  metrics["fleet.redis_cmds_per_server_s.rollout"] = +(((c1 - c0) / ((now() - t0) / 1000)) / args.servers).toFixed(2);
  emitting.on = false;
  await traffic;
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await connection?.close();
  await registry?.stop();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
}
const result = { date: new Date().toISOString(), params: { servers: args.servers, node: process.version, isolation: "inline" }, metrics };
console.log(JSON.stringify(result, null, 2));
if (args.out) await writeFile(args.out, `${JSON.stringify(result, null, 2)}\n`);

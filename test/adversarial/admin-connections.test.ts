/**
 * Issue 10, finding 8: admin connections that hold resources without doing anything. Before the
 * fix, unauthenticated half-open TCP connections were never reaped, and silent authenticated
 * clients held every slot forever so that an operator got HTTP 503.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AdminClient, AdminServer, CLOSE_CODES, ModHost, type AdminServerOptions } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";
import { stalledClient, TestSocket, tryUpgrade } from "../support/ws-test-client.js";

const TOKEN = "test-token-0123456789abcdef";

let host: ModHost | undefined;
let admin: AdminServer | undefined;
let mods: ModsDir | undefined;
const sockets: TestSocket[] = [];
const raw: Socket[] = [];
const clients: AdminClient[] = [];
afterEach(async () => {
  for (const socket of raw.splice(0)) socket.destroy();
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await admin?.close();
  await host?.close();
  await mods?.cleanup();
  host = admin = mods = undefined;
});

async function setup(options: Partial<Omit<AdminServerOptions, "host" | "token">>, problems: string[] = []): Promise<{ url: string; port: number }> {
  mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN) });
  host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", probation: false });
  admin = await AdminServer.create({ host, token: TOKEN, modsDir: mods.dir, onProblem: (m) => problems.push(m), ...options });
  return { url: `ws://127.0.0.1:${admin.port}/admin`, port: admin.port };
}

/** A TCP connection to the server that sends `text` (maybe nothing) and then stays silent. */
async function silentTcp(port: number, text = ""): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect(port, "127.0.0.1");
  raw.push(socket);
  socket.on("error", () => undefined); // the test watches 'close'
  socket.on("data", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  if (text !== "") socket.write(text);
  return { socket, closed };
}

describe("admin server: connections that do nothing (finding 8)", () => {
  it("cuts TCP connections that never complete a handshake (silent, or headers trickling in) after the deadline", async () => {
    const { port } = await setup({ handshakeTimeoutMs: 300, maxPendingConnections: 1000 });
    const silent = await Promise.all(Array.from({ length: 100 }, () => silentTcp(port)));
    const trickle = await silentTcp(port, `GET /admin HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    const timer = setInterval(() => trickle.socket.write("X-Slow: 1\r\n"), 50);
    try {
      // Generous bound (x30 the deadline): only "they are closed by the server" is asserted.
      await Promise.race([Promise.all([...silent.map((s) => s.closed), trickle.closed]), new Promise((_, reject) => setTimeout(() => reject(new Error("not reaped")), 9000))]);
    } finally {
      clearInterval(timer);
    }
    // An operator still gets in.
    const ws = await TestSocket.open(`ws://127.0.0.1:${port}/admin`, TOKEN);
    sockets.push(ws);
    ws.send({ id: 1, type: "status" });
    expect(await ws.answer(1)).toMatchObject({ type: "result" });
  });

  it("caps connections without an authenticated WebSocket apart from the operators' slots: the oldest is cut, operators still get in", async () => {
    const problems: string[] = [];
    const { port, url } = await setup({ maxPendingConnections: 10, maxConnections: 2, handshakeTimeoutMs: 60_000 }, problems);
    const first = await silentTcp(port);
    const rest = await Promise.all(Array.from({ length: 30 }, () => silentTcp(port)));
    await first.closed; // the oldest was cut to make room
    await expect.poll(() => rest.filter((s) => s.socket.destroyed || s.socket.readableEnded).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(20);
    expect(problems.some((p) => p.includes("without an authenticated WebSocket"))).toBe(true);
    const a = await TestSocket.open(url, TOKEN);
    const b = await TestSocket.open(url, TOKEN);
    sockets.push(a, b);
    expect(admin!.connections).toBe(2);
  });

  it("a new operator evicts the longest-idle unsubscribed client when every slot is held by silent clients", async () => {
    const { url, port } = await setup({ maxConnections: 4 });
    const silent: TestSocket[] = [];
    for (let i = 0; i < 4; i++) {
      silent.push(await TestSocket.open(url, TOKEN));
      if (i === 1) {
        // A subscriber (say `modhost logs --follow`) is silent on purpose: it goes last.
        silent[1]!.send({ id: 1, type: "subscribe", streams: ["log"] });
        await silent[1]!.answer(1);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    sockets.push(...silent);
    // The last of them speaks: it is not the longest idle any more.
    silent[3]!.send({ id: 1, type: "status" });
    await silent[3]!.answer(1);
    silent[0]!.send({ id: 1, type: "status" });
    await silent[0]!.answer(1);

    const operator = await AdminClient.connect(`http://127.0.0.1:${port}`, TOKEN);
    clients.push(operator);
    expect(await operator.request("status", {})).toMatchObject({ mods: [expect.objectContaining({ name: "counter" })] });
    expect(await silent[2]!.closed).toMatchObject({ code: CLOSE_CODES.evicted });
    expect(silent[1]!.ws.readyState).toBe(1);
    expect(admin!.connections).toBe(4);
    // A wrong token never evicts anyone.
    expect(await tryUpgrade(port, { Authorization: "Bearer not-the-token-at-all" })).toMatchObject({ status: 401 });
    expect(admin!.connections).toBe(4);
  });

  it("closes an authenticated client that sends nothing and subscribes to nothing (4002); a subscriber stays", async () => {
    const { url } = await setup({ idleTimeoutMs: 300, heartbeatMs: 100 });
    const idle = await TestSocket.open(url, TOKEN);
    const subscriber = await TestSocket.open(url, TOKEN);
    sockets.push(idle, subscriber);
    subscriber.send({ id: 1, type: "subscribe", streams: ["swap"] });
    await subscriber.answer(1);
    expect(await idle.closed).toMatchObject({ code: CLOSE_CODES.idle });
    await new Promise((resolve) => setTimeout(resolve, 600));
    subscriber.send({ id: 2, type: "status" });
    expect(await subscriber.answer(2)).toMatchObject({ type: "result" });
  });

  it("cuts a peer that stops answering heartbeat pings", async () => {
    const problems: string[] = [];
    const { port } = await setup({ heartbeatMs: 100 }, problems);
    const dead = await stalledClient(port, TOKEN, []); // upgraded, then never reads (so never pongs)
    raw.push(dead);
    const closed = new Promise<void>((resolve) => dead.once("close", () => resolve()));
    await expect.poll(() => admin!.connections, { timeout: 30_000 }).toBe(0);
    expect(problems.some((p) => p.includes("no pong"))).toBe(true);
    dead.resume();
    await closed;
  });
});

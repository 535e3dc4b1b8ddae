/**
 * Issue 10, finding 1: admin messages (and, the other way, server messages) that would make a
 * parser recurse: nested ~100k deep in any field. Before the fix, building the error message for
 * such a value (JSON.stringify) overflowed the stack outside any try and the server process died.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { AdminClient, AdminServer, ModHost } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";
import { TestSocket } from "../support/ws-test-client.js";

const TOKEN = "test-token-0123456789abcdef";
const DEEP = 100_000;

let host: ModHost | undefined;
let admin: AdminServer | undefined;
let mods: ModsDir | undefined;
const sockets: TestSocket[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await admin?.close();
  await host?.close();
  await mods?.cleanup();
  host = admin = mods = undefined;
});

/** `[[[...x...]]]` nested `depth` deep, as JSON text (never built as a value here). */
function deepArray(depth: number, inner = "1"): string {
  return "[".repeat(depth) + inner + "]".repeat(depth);
}

async function setup(): Promise<string> {
  mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN) });
  host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", probation: false });
  admin = await AdminServer.create({ host, token: TOKEN, modsDir: mods.dir, rateBurst: 1000, ratePerSecond: 1000 });
  return `ws://127.0.0.1:${admin.port}/admin`;
}

describe("admin server: deeply nested messages (finding 1)", () => {
  it("answers a message nested 100k deep in type, mod, limit, streams[i], id or files with a coded error; the connection and the server live on", async () => {
    const url = await setup();
    const ws = await TestSocket.open(url, TOKEN);
    sockets.push(ws);
    const deep = deepArray(DEEP);
    const cases: [string, string][] = [
      ["type", `{"id":1,"type":${deep}}`],
      ["mod", `{"id":2,"type":"reload","mod":${deep}}`],
      ["limit", `{"id":3,"type":"logs","limit":${deep}}`],
      ["streams", `{"id":4,"type":"subscribe","streams":["log",${deep}]}`],
      ["id", `{"id":${deep},"type":"status"}`],
      ["files", `{"id":6,"type":"deploy","files":{"mod.json":${deep}}}`],
      ["object keys", `{"id":7,"type":"status","x":${"{\"a\":".repeat(DEEP)}1${"}".repeat(DEEP)}}`],
      ["whole message", deep],
    ];
    for (const [what, text] of cases) {
      ws.send(text);
      const answer = await ws.next((m) => m.type === "error");
      expect(answer, what).toMatchObject({ error: { code: "E_ADMIN_MESSAGE", message: expect.stringContaining("levels deep") } });
      expect(JSON.stringify(answer).length, what).toBeLessThan(1000);
    }
    ws.send({ id: 99, type: "status" });
    expect(await ws.answer(99)).toMatchObject({ type: "result", result: { mods: [expect.objectContaining({ name: "counter" })] } });
    expect(await host!.emit("hit", { player: "p" })).toMatchObject([{ ok: true, value: 1 }]);
  });

  it("describes bad values by kind and a short preview, never by serializing them", async () => {
    const url = await setup();
    const ws = await TestSocket.open(url, TOKEN);
    sockets.push(ws);
    ws.send(`{"id":1,"type":"reload","mod":${JSON.stringify("x".repeat(1_000_000))}}`);
    const long = await ws.answer(1);
    expect(long).toMatchObject({ error: { code: "E_ADMIN_MESSAGE", field: "mod", message: expect.stringContaining("1000000 characters") } });
    expect(JSON.stringify(long).length).toBeLessThan(1000);
    ws.send(`{"id":2,"type":"status",${JSON.stringify("k".repeat(100_000))}:1}`);
    const key = await ws.answer(2);
    expect(JSON.stringify(key).length).toBeLessThan(1000);
    ws.send({ id: 3, type: "logs", limit: Array.from({ length: 100_000 }, () => 1) });
    expect(await ws.answer(3)).toMatchObject({ error: { field: "limit", message: expect.stringContaining("an array of 100000 items") } });
  });
});

describe("admin client: a hostile server (finding 1, client side)", () => {
  it("refuses deeply nested server messages without calling listeners or crashing", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => new Promise<void>((done) => wss.close(() => done())));
    await new Promise<void>((done) => wss.once("listening", () => done()));
    wss.on("connection", (socket) => {
      socket.send(JSON.stringify({ type: "welcome", protocol: 1, server: "evil" }));
      socket.on("message", (data) => {
        const { id } = JSON.parse(String(data)) as { id: number };
        socket.send(`{"type":"event","stream":"log","data":{"x":${deepArray(DEEP)}}}`);
        socket.send(`{"type":${deepArray(DEEP)},"id":${id}}`);
      });
    });
    const port = (wss.address() as { port: number }).port;
    const client = await AdminClient.connect(`http://127.0.0.1:${port}`, TOKEN);
    cleanups.push(() => client.close());
    const seen: string[] = [];
    // A listener that walks what it gets, as the CLI's printer does: it must never see the value.
    client.onEvent((event) => seen.push(JSON.stringify(event)));
    await expect(client.request("status", {})).rejects.toMatchObject({ code: "E_ADMIN_UNAVAILABLE", message: expect.stringContaining("levels deep") });
    expect(seen).toEqual([]);
  });
});

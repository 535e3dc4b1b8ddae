import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import type { Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AdminClient, AdminServer, CLOSE_CODES, ModHost, type AdminServerOptions } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModFiles, type ModsDir } from "../support/mod-fixture.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-parser.js";
import { stalledClient, TestSocket, tryUpgrade } from "../support/ws-test-client.js";

const TOKEN = "test-token-0123456789abcdef";

let host: ModHost | undefined;
let admin: AdminServer | undefined;
let mods: ModsDir | undefined;
const sockets: TestSocket[] = [];
const rawSockets: Socket[] = [];
const clients: AdminClient[] = [];
afterEach(async () => {
  for (const raw of rawSockets.splice(0)) raw.destroy();
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await admin?.close();
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  admin = undefined;
  mods = undefined;
});

async function setup(options: Partial<Omit<AdminServerOptions, "host" | "token">> = {}, modFiles: Record<string, ModFiles> = { counter: simpleMod("counter", COUNTER_MAIN) }): Promise<{ url: string; port: number }> {
  mods = await makeModsDir(modFiles);
  host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", logRatePerSecond: 1_000_000, logBytesPerSecond: 1_000_000_000, probation: false });
  admin = await AdminServer.create({ host, token: TOKEN, modsDir: mods.dir, ...options });
  return { url: `ws://127.0.0.1:${admin.port}/admin`, port: admin.port };
}

async function open(url: string): Promise<TestSocket> {
  const socket = await TestSocket.open(url, TOKEN);
  sockets.push(socket);
  return socket;
}

describe("admin channel: who may connect", () => {
  it("refuses a wrong or missing token with HTTP 401 before any WebSocket exists", async () => {
    const { port } = await setup();
    expect(await tryUpgrade(port, { Authorization: "Bearer not-the-token-at-all" })).toMatchObject({ status: 401, upgraded: false, body: "wrong token\n" });
    expect(await tryUpgrade(port, {})).toMatchObject({ status: 401, upgraded: false });
    expect(await tryUpgrade(port, { Authorization: `Basic ${TOKEN}` })).toMatchObject({ status: 401, upgraded: false });
    expect(admin!.connections).toBe(0);
    await expect(AdminClient.connect(`http://127.0.0.1:${port}`, "not-the-token-at-all")).rejects.toMatchObject({ code: "E_ADMIN_AUTH" });
    // The right token does get a WebSocket.
    expect(await tryUpgrade(port, { Authorization: `Bearer ${TOKEN}` })).toMatchObject({ status: 101, upgraded: true });
  });

  it("refuses a foreign Host (DNS rebinding) or any browser Origin with 403, and unknown paths with 404", async () => {
    const { port } = await setup();
    const auth = { Authorization: `Bearer ${TOKEN}` };
    expect(await tryUpgrade(port, { ...auth, Host: `evil.example:${port}` })).toMatchObject({ status: 403, upgraded: false });
    expect(await tryUpgrade(port, { ...auth, Origin: "http://evil.example" })).toMatchObject({ status: 403, upgraded: false });
    expect(await tryUpgrade(port, { ...auth, Host: `localhost:${port}` })).toMatchObject({ status: 101 });
    expect(await tryUpgrade(port, auth, "/other")).toMatchObject({ status: 404, upgraded: false });
  });
});

describe("admin channel: messages", () => {
  it("answers malformed and unknown messages with an error carrying the id, and keeps the connection", async () => {
    const { url } = await setup();
    const ws = await open(url);
    ws.send("this is not json");
    expect(await ws.next((m) => m.type === "error")).toEqual({ type: "error", id: null, error: { code: "E_ADMIN_MESSAGE", message: expect.stringContaining("not JSON") } });
    ws.send({ id: 7, type: "explode" });
    expect(await ws.answer(7)).toMatchObject({ type: "error", error: { code: "E_ADMIN_MESSAGE", field: "type", message: expect.stringContaining("unknown message type") } });
    ws.send({ id: "r1", type: "reload" });
    expect(await ws.answer("r1")).toMatchObject({ type: "error", error: { code: "E_ADMIN_MESSAGE", field: "mod" } });
    ws.send({ id: 8, type: "status", extra: true });
    expect(await ws.answer(8)).toMatchObject({ type: "error", error: { code: "E_ADMIN_MESSAGE", field: "extra" } });
    ws.send({ id: 9, type: "reload", mod: "../../etc" });
    expect(await ws.answer(9)).toMatchObject({ type: "error", error: { code: "E_ADMIN_MESSAGE", field: "mod" } });
    ws.send({ id: { nested: 1 }, type: "status" });
    expect(await ws.next((m) => m.type === "error" && m.id === null)).toMatchObject({ error: { field: "id" } });
    ws.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await ws.next((m) => m.type === "error" && m.id === null)).toMatchObject({ error: { code: "E_ADMIN_MESSAGE", message: expect.stringContaining("binary") } });
    ws.send({ id: 10, type: "reload", mod: "nope" });
    expect(await ws.answer(10)).toMatchObject({ type: "error", error: { code: "E_MOD_NOT_FOUND" } });
    ws.send({ id: 11, type: "status" });
    expect(await ws.answer(11)).toMatchObject({ type: "result", result: { mods: [expect.objectContaining({ name: "counter", status: "running" })] } });
  });

  it("closes a connection that sends an oversized message with 1009; others go on", async () => {
    const problems: string[] = [];
    const { url } = await setup({ maxMessageBytes: 64 * 1024, onProblem: (m) => problems.push(m) });
    const big = await open(url);
    const other = await open(url);
    big.send({ id: 1, type: "deploy", files: { "mod.json": "x".repeat(100 * 1024) } });
    expect(await big.closed).toMatchObject({ code: CLOSE_CODES.messageTooBig });
    expect(problems).toEqual([expect.stringContaining("Max payload size exceeded")]);
    other.send({ id: 2, type: "status" });
    expect(await other.answer(2)).toMatchObject({ type: "result" });
  });

  it("rate-limits each connection with a token bucket", async () => {
    const { url } = await setup({ rateBurst: 5, ratePerSecond: 1 });
    const ws = await open(url);
    for (let id = 1; id <= 12; id++) ws.send({ id, type: "status" });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => ws.answer(i + 1)));
    const limited = answers.filter((a) => (a.error as { code?: string } | undefined)?.code === "E_ADMIN_RATE_LIMITED");
    expect(answers.filter((a) => a.type === "result").length).toBeGreaterThanOrEqual(5);
    expect(answers.filter((a) => a.type === "result").length).toBeLessThanOrEqual(6);
    expect(limited.length).toBe(12 - answers.filter((a) => a.type === "result").length);
    // Another connection has its own bucket.
    const fresh = await open(url);
    fresh.send({ id: 1, type: "status" });
    expect(await fresh.answer(1)).toMatchObject({ type: "result" });
  });
});

describe("admin channel: streams and backpressure", () => {
  it("sends subscribed swap events for the chosen mod only, until unsubscribed", async () => {
    const { url } = await setup({}, { counter: simpleMod("counter", COUNTER_MAIN), other: simpleMod("other", COUNTER_MAIN) });
    const watcher = await open(url);
    watcher.send({ id: 1, type: "subscribe", streams: ["swap", "fault"], mod: "counter" });
    expect(await watcher.answer(1)).toMatchObject({ result: { streams: ["swap", "fault"] } });
    const client = await AdminClient.connect(`http://127.0.0.1:${admin!.port}`, TOKEN);
    clients.push(client);
    await mods!.write("other", simpleMod("other", COUNTER_MAIN.replace("+ 1", "+ 5")));
    await mods!.write("counter", simpleMod("counter", COUNTER_MAIN.replace("+ 1", "+ 2")));
    expect(await client.request("reload", { mod: "other" })).toMatchObject({ ok: true, kind: "swap" });
    expect(await client.request("reload", { mod: "counter" })).toMatchObject({ ok: true, kind: "swap" });
    const event = await watcher.next((m) => m.type === "event");
    expect(event).toMatchObject({ stream: "swap", data: { mod: "counter", kind: "swap", changes: [{ kind: "modified", path: "on.hit" }] } });
    watcher.send({ id: 2, type: "unsubscribe" });
    expect(await watcher.answer(2)).toMatchObject({ result: { streams: [] } });
    expect(await client.request("rollback", { mod: "counter" })).toMatchObject({ ok: true, kind: "rollback" });
    watcher.send({ id: 3, type: "status" });
    await watcher.answer(3);
    expect(watcher.messages.filter((m) => m.type === "event")).toEqual([]);
  });

  it("drops a client that never reads its subscription, and keeps serving the others", async () => {
    const spam = `export default { on: { spam() { for (let i = 0; i < 100; i++) console.log(String(i).padEnd(8000, ".")); return 1; } } };`;
    const problems: string[] = [];
    const { url, port } = await setup({ maxBufferedBytes: 256 * 1024, onProblem: (m) => problems.push(m) }, { spammer: simpleMod("spammer", spam, { limits: { callTimeoutMs: 1000 } }) });
    const good = await open(url);
    good.send({ id: 1, type: "subscribe", streams: ["log"] });
    await good.answer(1);
    const stalled = await stalledClient(port, TOKEN, [{ id: 1, type: "subscribe", streams: ["log"] }]);
    rawSockets.push(stalled);
    const stalledClosed = new Promise<void>((resolve) => stalled.once("close", () => resolve()));
    await expect.poll(() => admin!.connections).toBe(2);

    // ~800 KB of log lines per event: the stalled client's kernel buffers fill, then the server's.
    for (let i = 0; i < 200 && admin!.connections > 1; i++) {
      await host!.emit("spam", {});
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await expect.poll(() => admin!.connections, { timeout: 30_000 }).toBe(1);
    expect(problems.some((p) => p.includes("dropped"))).toBe(true);

    // The dropped client's socket is closed by the server (after its 1 s grace at most).
    stalled.resume();
    stalled.on("data", () => undefined);
    await stalledClosed;

    // The good client got the lines and is still served.
    await expect.poll(() => good.messages.filter((m) => m.type === "event").length, { timeout: 30_000 }).toBeGreaterThan(100);
    good.send({ id: 2, type: "status" });
    expect(await good.answer(2)).toMatchObject({ type: "result" });
  }, 120_000);
});

describe("admin channel: deploy", () => {
  it("writes a deploy into the mod's folder, mirrors its sources, and reloads through the normal pipeline", async () => {
    await setup({}, {});
    const client = await AdminClient.connect(`http://127.0.0.1:${admin!.port}`, TOKEN);
    clients.push(client);
    const manifest = JSON.stringify({ name: "counter", version: "1.0.0", entry: "main.ts" });
    const withLib = `import { step } from "./lib/step.ts";\n${COUNTER_MAIN.replace("+ 1;", "+ step;")}`;
    const first = await client.request("deploy", { files: { "mod.json": manifest, "main.ts": withLib, "lib/step.ts": "export const step = 1;\n" } });
    expect(first).toMatchObject({ ok: true, mod: "counter", kind: "swap", from: "", to: "1.0.0" });
    expect(await host!.emit("hit", { player: "a" })).toMatchObject([{ ok: true, value: 1 }]);

    const second = await client.request("deploy", { files: { "mod.json": manifest.replace("1.0.0", "1.1.0"), "main.ts": COUNTER_MAIN.replace("+ 1;", "+ 10;") } });
    expect(second).toMatchObject({ ok: true, kind: "swap", from: "1.0.0", to: "1.1.0" });
    expect(existsSync(join(mods!.dir, "counter", "lib", "step.ts"))).toBe(false);
    expect(await host!.emit("hit", { player: "a" })).toMatchObject([{ ok: true, value: 11 }]);
    expect((await readdir(join(mods!.dir, "counter"))).filter((f) => f.startsWith("."))).toEqual([]);

    const rolled = await client.request("rollback", { mod: "counter" });
    expect(rolled).toMatchObject({ ok: true, kind: "rollback", from: "1.1.0", to: "1.0.0" });
    expect(await host!.emit("hit", { player: "a" })).toMatchObject([{ ok: true, value: 12 }]);
  });

  it("refuses paths outside the mod, non-source files, a missing mod.json, another mod's folder and a bad manifest", async () => {
    await setup({}, { counter: simpleMod("counter", COUNTER_MAIN), squatter: { "mod.json": { name: "squatter", version: "1.0.0", entry: "main.ts" }, "main.ts": COUNTER_MAIN } });
    const client = await AdminClient.connect(`http://127.0.0.1:${admin!.port}`, TOKEN);
    clients.push(client);
    const manifest = JSON.stringify({ name: "counter", version: "2.0.0", entry: "main.ts" });
    const refusals: Record<string, string>[] = [
      { "mod.json": manifest, "../evil.ts": "x" },
      { "mod.json": manifest, "/etc/evil.ts": "x" },
      { "mod.json": manifest, "lib/../../evil.ts": "x" },
      { "mod.json": manifest, "node_modules/x.ts": "x" },
      { "mod.json": manifest, "run.sh": "rm -rf /" },
      { "main.ts": COUNTER_MAIN },
    ];
    for (const files of refusals) {
      await expect(client.request("deploy", { files }), JSON.stringify(Object.keys(files))).rejects.toMatchObject({ code: "E_DEPLOY_REFUSED" });
    }
    expect(existsSync(join(mods!.dir, "..", "evil.ts"))).toBe(false);
    expect(existsSync(join(mods!.dir, "evil.ts"))).toBe(false);

    // A new mod whose name is a folder another mod lives in.
    await expect(client.request("deploy", { files: { "mod.json": JSON.stringify({ name: "squatter2", version: "1.0.0" }), "main.ts": COUNTER_MAIN } })).resolves.toMatchObject({ ok: true });
    const renamedInto = { "mod.json": JSON.stringify({ name: "squatter", version: "9.0.0", entry: "main.ts" }), "main.ts": COUNTER_MAIN };
    await expect(client.request("deploy", { files: renamedInto })).resolves.toMatchObject({ ok: true, mod: "squatter", to: "9.0.0" });

    const badManifest = await client.request("deploy", { files: { "mod.json": `{\n  "name": "counter",\n  "version": 2\n}`, "main.ts": COUNTER_MAIN } }).catch((err: unknown) => err);
    expect(badManifest).toMatchObject({ code: "E_MANIFEST_INVALID", location: { file: "mod.json", line: 3, field: "version" } });
    expect(await readFile(join(mods!.dir, "counter", "mod.json"), "utf8")).toContain('"version": "1.0.0"');
  });
});

describe("host.load (what deploy reloads through)", () => {
  it("a load asked for while one runs gets a follow-up that reads the folder afresh", async () => {
    await setup({}, {});
    const dir = join(mods!.dir, "greeter");
    await mods!.write("greeter", { "mod.json": { name: "greeter", version: "1.0.0", entry: "main.ts" } });
    const first = host!.load(dir);
    await mods!.write("greeter", { "main.ts": `export default { on: { hello: () => "hi" } };` });
    const second = host!.load(dir);
    const third = host!.load(dir);
    expect(await second).toMatchObject({ ok: true, mod: "greeter" });
    expect(await third).toBe(await second);
    await first;
    expect(host!.mods()).toEqual([expect.objectContaining({ name: "greeter", status: "running" })]);
    expect(await host!.emit("hello", {})).toEqual([{ mod: "greeter", version: "1.0.0", ok: true, value: "hi" }]);
    await expect(host!.load(join(mods!.dir, "..", "elsewhere"))).rejects.toMatchObject({ code: "E_MOD_NOT_FOUND" });
  });
});

describe("GET /metrics", () => {
  it("serves Prometheus text that a strict parser accepts, with the host's figures", async () => {
    const thrower = `export default { on: { boom() { throw new Error("no"); } } };`;
    const { port } = await setup({}, { counter: simpleMod("counter", COUNTER_MAIN), thrower: simpleMod("thrower", thrower) });
    for (let i = 0; i < 3; i++) await host!.emit("hit", { player: "p" });
    await host!.emit("boom", {});
    await mods!.write("counter", simpleMod("counter", COUNTER_MAIN.replace("+ 1", "+ 2")));
    await host!.reload("counter");
    await host!.rollback("counter");

    const unauthorized = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(unauthorized.status).toBe(401);
    await unauthorized.text();
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheusText(await res.text());

    expect(families.get("modhost_events_total")?.type).toBe("counter");
    expect(sampleValue(families, "modhost_events_total", "modhost_events_total", { mod: "counter" })).toBe(3);
    expect(sampleValue(families, "modhost_errors_total", "modhost_errors_total", { mod: "thrower", code: "E_THREW" })).toBe(1);
    expect(families.get("modhost_call_duration_seconds")?.type).toBe("histogram");
    expect(sampleValue(families, "modhost_call_duration_seconds", "modhost_call_duration_seconds_count", { mod: "counter" })).toBe(3);
    expect(sampleValue(families, "modhost_call_duration_seconds", "modhost_call_duration_seconds_bucket", { mod: "counter", le: "+Inf" })).toBe(3);
    expect(sampleValue(families, "modhost_call_duration_seconds", "modhost_call_duration_seconds_bucket", { mod: "counter", le: "1" })).toBe(3);
    expect(sampleValue(families, "modhost_call_duration_seconds", "modhost_call_duration_seconds_sum", { mod: "counter" })).toBeLessThan(3);
    expect(sampleValue(families, "modhost_heap_used_bytes", "modhost_heap_used_bytes", { mod: "counter" })).toBeGreaterThan(0);
    expect(sampleValue(families, "modhost_heap_limit_bytes", "modhost_heap_limit_bytes", { mod: "counter" })).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(sampleValue(families, "modhost_swaps_total", "modhost_swaps_total", { mod: "counter" })).toBe(1);
    expect(sampleValue(families, "modhost_rollbacks_total", "modhost_rollbacks_total", { mod: "counter" })).toBe(1);
    expect(sampleValue(families, "modhost_quarantines_total", "modhost_quarantines_total", { mod: "thrower" })).toBe(0);
    expect(sampleValue(families, "modhost_journal_records_total", "modhost_journal_records_total")).toBeGreaterThanOrEqual(0);
    expect(sampleValue(families, "modhost_mod_info", "modhost_mod_info", { mod: "counter", status: "running" })).toBe(1);
  });
});

describe("AdminServer lifecycle", () => {
  it("close() says goodbye with 1001, stops listening, and is idempotent", async () => {
    const { url, port } = await setup();
    const ws = await open(url);
    const closing = admin!.close();
    expect(admin!.close()).toBe(closing);
    await closing;
    expect(await ws.closed).toMatchObject({ code: CLOSE_CODES.goingAway });
    await expect(AdminClient.connect(`http://127.0.0.1:${port}`, TOKEN, { timeoutMs: 2000 })).rejects.toMatchObject({ code: "E_ADMIN_UNAVAILABLE" });
  });

  it("AdminClient.close() is idempotent; a closed client refuses requests", async () => {
    const { port } = await setup();
    const client = await AdminClient.connect(`127.0.0.1:${port}`, TOKEN);
    expect(admin!.connections).toBe(1);
    const closing = client.close();
    expect(client.close()).toBe(closing);
    await closing;
    expect(await client.closed).toMatchObject({ code: CLOSE_CODES.normal });
    await expect(client.request("status", {})).rejects.toMatchObject({ code: "E_ADMIN_UNAVAILABLE" });
    await expect.poll(() => admin!.connections).toBe(0);
  });

  it("refuses bad options with E_OPTIONS_INVALID", async () => {
    await setup();
    await expect(AdminServer.create({ host: host!, token: "short" })).rejects.toMatchObject({ code: "E_OPTIONS_INVALID" });
    await expect(AdminServer.create({ host: host!, token: TOKEN, port: 70000 })).rejects.toMatchObject({ code: "E_OPTIONS_INVALID", location: { field: "port" } });
    await expect(AdminServer.create({ host: host!, token: TOKEN, bogus: 1 } as unknown as AdminServerOptions)).rejects.toMatchObject({ code: "E_OPTIONS_INVALID", location: { field: "bogus" } });
  });
});

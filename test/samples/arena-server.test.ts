/** The arena server with real WebSocket clients and the real mods (inline isolation). */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ARENA_PATHS, ArenaServer, Bot, BotSwarm, CLOSE_CODES } from "../../samples/arena/src/index.js";
import { copyFolder } from "../../samples/arena/src/copy-folder.js";

let work: string;
let server: ArenaServer | undefined;
let swarm: BotSwarm | undefined;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "arena-test-"));
  await copyFolder(ARENA_PATHS.mods, join(work, "mods"), new Set(["test"]));
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await swarm?.close();
  await server?.close();
  swarm = undefined;
  server = undefined;
  await rm(work, { recursive: true, force: true });
});

const start = async (): Promise<ArenaServer> => {
  server = await ArenaServer.create({ modsDir: join(work, "mods"), modTypes: [ARENA_PATHS.modTypes], isolation: "inline" });
  return server;
};

/** Polls `condition` every 20 ms; fails after a generous deadline (a busy machine is slow, never wrong). */
async function until(condition: () => boolean, what: string, deadlineMs = 45_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A raw client: resolves with the close code the server sent. */
function rawClient(url: string, messages: readonly string[]): Promise<number> {
  const socket = new WebSocket(url);
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.on("open", () => messages.forEach((m) => socket.send(m)));
    socket.on("error", reject);
    socket.on("close", (code) => resolve(code));
  });
}

describe("arena server", () => {
  it("starts the three mods and serves bots: every action arrives and every event is answered", async () => {
    await start();
    expect(server!.host.mods().map((m) => [m.name, m.status])).toEqual([["chat-filter", "running"], ["combat", "running"], ["loot", "running"]]);
    swarm = await BotSwarm.connect({ url: server!.url, count: 6, actEveryTicks: 1, chatEveryTicks: 5 });
    swarm.start();
    await until(() => server!.stats.attacks > 0 && server!.stats.chatLines > 3 && server!.rules.counters().processed > 30, "the bots to fight and chat");
    swarm.stop();
    const sent = swarm.sent;
    await until(() => server!.stats.actionsReceived === sent, "every action to arrive");
    await server!.quiesce();
    const counters = server!.rules.counters();
    expect(counters).toMatchObject({ lost: 0, pending: 0, invalid: 0, failed: {} });
    expect(counters.processed).toBe(counters.sent);
    expect(server!.stats.errors).toBe(0);
    expect(swarm.disconnects()).toEqual([]);
    expect(swarm.totals().ticksSeen).toBeGreaterThan(0);
    await Promise.all([swarm.close(), swarm.close()]);
    await swarm.close();
    expect(swarm.disconnects()).toEqual([]);
  }, 120_000);

  it("disconnects a client that breaks the protocol (4000) or takes a used name (4001)", async () => {
    await start();
    expect(await rawClient(server!.url, ["not json"])).toBe(CLOSE_CODES.protocolError);
    expect(await rawClient(server!.url, [JSON.stringify({ t: "move", dx: 1, dy: 0 })])).toBe(CLOSE_CODES.protocolError);
    expect(await rawClient(server!.url, [JSON.stringify({ t: "join", name: "ann", admin: true })])).toBe(CLOSE_CODES.protocolError);
    const ann = await Bot.connect({ url: server!.url, name: "ann", seed: 1 });
    try {
      expect(await rawClient(server!.url, [JSON.stringify({ t: "join", name: "ann" })])).toBe(CLOSE_CODES.nameTaken);
    } finally {
      await ann.close();
    }
    expect(server!.stats.protocolErrors).toBe(4);
  });

  it("ignores (and counts) a mod result that does not have the declared shape", async () => {
    await writeFile(
      join(work, "mods", "loot", "main.ts"),
      `import { defineMod } from "@modhost/sdk";\nexport default defineMod<{}>({ on: { lootDrop: () => ({ kind: "bomb", name: "x", value: 1 }) as never } });\n`,
    );
    await start();
    expect(await server!.rules.emit("lootDrop", { x: 0, y: 0, tick: 1, cause: "spawn" })).toBeUndefined();
    expect(server!.rules.counters()).toMatchObject({ sent: 1, processed: 1, invalid: 1 });
  });

  it("close() is idempotent and tells connected players the server is going away (1001)", async () => {
    await start();
    const bot = await Bot.connect({ url: server!.url, name: "bob", seed: 2 });
    await Promise.all([server!.close(), server!.close()]);
    await server!.close();
    await until(() => bot.disconnect !== undefined, "the bot to see the close");
    expect(bot.disconnect?.code).toBe(CLOSE_CODES.goingAway);
    await bot.close();
    await bot.close();
  });
});

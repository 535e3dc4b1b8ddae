import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RequestWatchdog, type WatchedRequest } from "./request-watchdog.js";
import { blockEventLoop } from "./event-loop.test-kit.js";

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A loopback connection: what `sender` writes arrives on `receiver` (a real socket, like the sandbox's reply pipe). */
async function loopback(): Promise<{ sender: Socket; receiver: Socket }> {
  const server = createServer();
  servers.push(server);
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const sender = connect(address.port, "127.0.0.1");
  await new Promise<void>((resolve) => sender.once("connect", resolve));
  const receiver = await accepted;
  sockets.push(sender, receiver);
  return { sender, receiver };
}

/**
 * A watchdog over one request (wall time only: no CPU clock) whose reply comes on `receiver`;
 * `sent`: its frame is written already (else the test says when, as the queue's flush does).
 */
function watchOne(receiver: Socket, budgetMs: number, sent = true, replyBytes = 1, backstopFactor?: number, blockedWritingMs = 0) {
  const request: WatchedRequest = { request: { id: 1 }, budgetMs, capabilityMs: 0, creditedMs: 0, sentAt: sent ? performance.now() : undefined };
  const state = { answered: false, kills: [] as string[], read: 0, blockedWritingMs };
  const watchdog = new RequestWatchdog(0, {
    head: () => (state.answered ? undefined : request),
    running: () => undefined,
    outputBytes: () => state.read,
    blockedWritingMs: () => state.blockedWritingMs,
    clock: () => undefined,
    kill: (reason) => void state.kills.push(reason),
  }, backstopFactor);
  receiver.on("data", (chunk: Buffer) => {
    state.read += chunk.length;
    if (state.read < replyBytes) return; // the reply is not whole yet
    state.answered = true;
    watchdog.arm(); // the queue moves on: nothing left to watch
  });
  watchdog.arm();
  return { watchdog, state, request };
}

describe("request watchdog", () => {
  it("does not kill a sandbox whose reply came while the host's event loop was blocked past the deadline", async () => {
    const { sender, receiver } = await loopback();
    const { watchdog, state } = watchOne(receiver, 20);
    sender.write("reply"); // the sandbox answered at once...
    blockEventLoop(300); // ...but the game held the host past the deadline before reading it
    await expect.poll(() => state.answered).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(state.kills).toEqual([]);
    watchdog.clear();
  });

  it("does not kill a sandbox whose output, bigger than the socket's buffer, waited to be written while the host's event loop was blocked", async () => {
    const { sender, receiver } = await loopback();
    const outputBytes = 16 << 20; // many socket buffers: the host reads it over many turns
    const { watchdog, state } = watchOne(receiver, 20, true, outputBytes);
    sender.write(Buffer.alloc(outputBytes, 1)); // the sandbox answered at once, and waits to write the rest...
    blockEventLoop(300); // ...while the game holds the host past the deadline
    await expect.poll(() => state.answered, { timeout: 30_000 }).toBe(true);
    expect(state.kills).toEqual([]);
    watchdog.clear();
  });

  it("still kills a sandbox that keeps writing but never answers, at the wall backstop", async () => {
    const { sender, receiver } = await loopback();
    const { watchdog, state } = watchOne(receiver, 20, true, Infinity, 5); // backstop: 5 x 20 ms
    const trickle = setInterval(() => sender.write("x"), 10);
    try {
      await expect.poll(() => state.kills.length, { timeout: 30_000 }).toBe(1);
    } finally {
      clearInterval(trickle);
    }
    expect(state.kills[0]).toMatch(/^killed by the watchdog: request 1 ran \d+ ms/);
    watchdog.clear();
  });

  it("believes the blocked-writing time a sandbox claims only up to the wall time, and kills it at the backstop", async () => {
    const { receiver } = await loopback();
    const { watchdog, state } = watchOne(receiver, 20, true, 1, 5);
    state.blockedWritingMs = 1e12; // a process a mod took over may write anything in its record
    await expect.poll(() => state.kills.length, { timeout: 30_000 }).toBe(1);
    expect(state.kills[0]).toMatch(/ms blocked writing to the host\)$/);
    watchdog.clear();
  });

  it("does not credit blocked-writing time from before the watch began", async () => {
    const { receiver } = await loopback();
    const { watchdog, state } = watchOne(receiver, 20, true, 1, undefined, 600); // the process's total before this request
    await expect.poll(() => state.kills.length, { timeout: 30_000 }).toBe(1);
    expect(state.kills[0]).not.toMatch(/blocked writing/);
    watchdog.clear();
  });

  it("does not charge the time the sandbox says it sat blocked writing to a host that did not read", async () => {
    const { sender, receiver } = await loopback();
    const { watchdog, state } = watchOne(receiver, 50);
    state.blockedWritingMs = 600; // its progress record: writing waited 600 ms
    setTimeout(() => sender.write("reply"), 400); // past the 50 ms budget, within it plus the wait
    await expect.poll(() => state.answered, { timeout: 30_000 }).toBe(true);
    expect(state.kills).toEqual([]);
    watchdog.clear();
  });

  it("kills a sandbox that stops in the middle of a reply", async () => {
    const { sender, receiver } = await loopback();
    const { watchdog, state } = watchOne(receiver, 20, true, 1000);
    sender.write(Buffer.alloc(10, 1)); // a hundredth of the reply, then nothing
    await expect.poll(() => state.kills.length).toBe(1);
    expect(state.kills[0]).toMatch(/^killed by the watchdog: request 1 ran \d+ ms/);
    expect(state.answered).toBe(false);
    watchdog.clear();
  });

  it("times a request from when its frame was written, not from when the game made it", async () => {
    const { sender, receiver } = await loopback();
    const { watchdog, state, request } = watchOne(receiver, 100, false);
    // The frame goes out at the end of the event loop's turn; the game holds the loop up first,
    // past the budget. The sandbox answers well within it, counted from the write.
    setImmediate(() => {
      request.sentAt = performance.now();
      setTimeout(() => sender.write("reply"), 30);
    });
    blockEventLoop(300);
    await expect.poll(() => state.answered).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(state.kills).toEqual([]);
    watchdog.clear();
  });

  it("kills a sandbox that never takes its request (it never said ready), a budget after it was first seen unwritten", async () => {
    const { receiver } = await loopback();
    const { watchdog, state } = watchOne(receiver, 20, false);
    await expect.poll(() => state.kills.length).toBe(1);
    expect(state.kills[0]).toMatch(/^killed by the watchdog: request 1 was not taken by the process in \d+ ms \(allowed \d+ ms\)$/);
    watchdog.clear();
  });

  it("still kills a sandbox that never answers, saying for how long it ran", async () => {
    const { receiver } = await loopback();
    const { watchdog, state } = watchOne(receiver, 20);
    blockEventLoop(100); // past the deadline: the verdict waits for one read of the pipes, which brings nothing
    await expect.poll(() => state.kills.length).toBe(1);
    expect(state.kills[0]).toMatch(/^killed by the watchdog: request 1 ran \d+ ms \(allowed \d+ ms\)$/);
    expect(state.answered).toBe(false);
    watchdog.clear();
  });
});

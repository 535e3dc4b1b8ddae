import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { WebSocket } from "ws";

/** A raw WebSocket for protocol tests: sends anything, queues every message it gets. */
export class TestSocket {
  readonly ws: WebSocket;
  readonly messages: Record<string, unknown>[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      this.messages.push(JSON.parse(String(data)) as Record<string, unknown>);
      for (const wake of this.#waiters) wake();
    });
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on("error", () => undefined); // a test looks at `closed`, which follows every error
  }

  /** Opens a socket to `url` with the token, and waits for the welcome. */
  static async open(url: string, token: string): Promise<TestSocket> {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    const socket = new TestSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    await socket.next((m) => m.type === "welcome");
    return socket;
  }

  /** Sends a JSON message (or raw text). */
  send(message: object | string): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The first message (not taken before) that matches, waiting up to timeoutMs. */
  next(match: (m: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const index = this.messages.findIndex(match);
        if (index < 0) return;
        const [found] = this.messages.splice(index, 1);
        done();
        resolve(found as Record<string, unknown>);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 500)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The answer to request `id`. */
  answer(id: unknown): Promise<Record<string, unknown>> {
    return this.next((m) => (m.type === "result" || m.type === "error") && m.id === id);
  }

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    await this.closed;
    clearTimeout(timer);
  }
}

/**
 * Sends a WebSocket upgrade request with `headers` and reports what came back: the HTTP status of
 * a refusal, or 101 if a WebSocket was made (which it then destroys).
 */
export function tryUpgrade(port: number, headers: Record<string, string>, path = "/admin"): Promise<{ status: number; upgraded: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": randomBytes(16).toString("base64"), ...headers },
    });
    req.once("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, upgraded: true, body: "" });
    });
    req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, upgraded: false, body }));
    });
    req.once("error", reject);
    req.end();
  });
}

/** A masked client text frame (RFC 6455 5.2), as a client must send it. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([head, mask, masked]);
}

/**
 * A WebSocket client over a bare TCP socket that completes the handshake, sends `messages`, and
 * then never reads again (the socket is paused): the slow consumer of the backpressure test.
 */
export async function stalledClient(port: number, token: string, messages: readonly object[]): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined); // the test watches for 'close'
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(
    [`GET /admin HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`, "Sec-WebSocket-Version: 13", `Authorization: Bearer ${token}`, "", ""].join("\r\n"),
  );
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString("latin1");
      if (seen.includes("\r\n\r\n")) {
        socket.off("data", onData);
        if (seen.startsWith("HTTP/1.1 101")) resolve();
        else reject(new Error(`upgrade refused: ${seen.split("\r\n")[0]}`));
      }
    };
    socket.on("data", onData);
  });
  for (const message of messages) socket.write(clientFrame(JSON.stringify(message)));
  socket.pause();
  return socket;
}

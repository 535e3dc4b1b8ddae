import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import type { LogEvent } from "../host/mod-host.js";
import type { FaultEvent } from "../model/mod-events.js";
import type { SwapReport } from "../model/swap-report.js";
import { trackResource } from "../util/resource-registry.js";
import { safeMessageOf } from "../util/safe-message.js";
import { AdminConnection } from "./admin-connection.js";
import { AdminRequests } from "./admin-requests.js";
import { resolveAdminOptions, type AdminServerOptions, type ResolvedAdminOptions } from "./admin-options.js";
export type { AdminServerOptions } from "./admin-options.js";
import { LogHistory } from "./log-history.js";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus-text.js";
import { ADMIN_DEFAULTS, ADMIN_PATH, CLOSE_CODES, METRICS_PATH, PROTOCOL_VERSION } from "./protocol.js";
import { checkRequest, isLoopback, type GuardPolicy } from "./request-guard.js";

/**
 * The admin channel of a host: an HTTP server (loopback by default) with the admin WebSocket on
 * `/admin` and Prometheus metrics on `/metrics`. Clients authenticate with a bearer token, checked
 * in constant time, with the Host and Origin headers, before the WebSocket upgrade: a refused
 * client gets an HTTP status (401, 403) and its socket is destroyed. Create it with
 * `AdminServer.create()`; `close()` closes every connection and the listening socket.
 */
export class AdminServer {
  readonly #options: ResolvedAdminOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #policy: GuardPolicy;
  readonly #requests: AdminRequests;
  readonly #history: LogHistory;
  readonly #connections = new Set<AdminConnection>();
  /** Connections closed to make way for others, still finishing their close. */
  readonly #evicted = new Set<AdminConnection>();
  /** TCP connections not upgraded (yet), oldest first, with their handshake deadline (if still running). */
  readonly #pending = new Map<Socket, NodeJS.Timeout | undefined>();
  readonly #sweep: NodeJS.Timeout;
  readonly #untrack: () => void;
  readonly #listeners: { swap: (r: SwapReport) => void; fault: (f: FaultEvent) => void; log: (l: LogEvent) => void };
  #closed: Promise<void> | undefined;

  private constructor(options: ResolvedAdminOptions) {
    this.#options = options;
    this.#policy = { token: options.token, allowedHosts: options.allowedHosts, loopback: isLoopback(options.hostname), allowedOrigins: options.allowedOrigins };
    this.#history = new LogHistory(options.logHistory, ADMIN_DEFAULTS.maxLogChars);
    this.#requests = new AdminRequests(options.host, options.modsDir, this.#history);
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    // Node's own request timeouts cover HTTP requests (the /metrics endpoint, keep-alive); the
    // handshake deadline below covers a connection that never sends a request at all.
    this.#http = createServer(
      {
        headersTimeout: options.handshakeTimeoutMs,
        requestTimeout: options.handshakeTimeoutMs * 3,
        connectionsCheckingInterval: Math.max(50, Math.min(1000, options.handshakeTimeoutMs / 2)),
      },
      (req, res) => this.#guard(req.socket, () => this.#onRequest(req, res)),
    );
    this.#http.on("connection", (socket: Socket) => this.#onConnection(socket));
    this.#http.on("request", (req: IncomingMessage) => this.#clearDeadline(req.socket));
    this.#http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#guard(socket, () => this.#onUpgrade(req, socket, head)));
    this.#listeners = {
      swap: (report) => this.#publish("swap", report),
      fault: (fault) => this.#publish("fault", fault),
      log: (line) => {
        const numbered = this.#history.add(line);
        for (const connection of this.#connections) connection.publish("log", numbered);
      },
    };
    this.#sweep = setInterval(() => this.#onSweep(), options.heartbeatMs);
    this.#untrack = trackResource("admin-server");
  }

  /** Validates the options, starts listening and subscribes to the host's events. */
  static async create(options: AdminServerOptions): Promise<AdminServer> {
    const server = new AdminServer(resolveAdminOptions(options));
    const host = server.#options.host;
    host.on("swap", server.#listeners.swap);
    host.on("fault", server.#listeners.fault);
    host.on("log", server.#listeners.log);
    try {
      await new Promise<void>((done, fail) => {
        server.#http.once("error", fail);
        server.#http.listen(server.#options.port, server.#options.hostname, () => {
          server.#http.off("error", fail);
          done();
        });
      });
    } catch (err) {
      await server.close();
      throw new ModhostError("E_OPTIONS_INVALID", `cannot listen on ${server.#options.hostname}:${server.#options.port}: ${messageOf(err)}`, { field: "port" }, { cause: err });
    }
    server.#http.on("error", (err) => server.#options.onProblem(`admin server: ${err.message}`));
    return server;
  }

  /** The port the server listens on. */
  get port(): number {
    return (this.#http.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The server's base URL, e.g. `http://127.0.0.1:4555` (the WebSocket is at `ws://.../admin`). */
  get url(): string {
    const name = this.#options.hostname.includes(":") ? `[${this.#options.hostname}]` : this.#options.hostname;
    return `http://${name}:${this.port}`;
  }

  /** How many admin clients are connected. */
  get connections(): number {
    return this.#connections.size;
  }

  /**
   * Stops listening, closes every connection (close code 1001, cut off after a second if the
   * client does not answer) and unsubscribes from the host. Idempotent. Does not close the host.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#sweep);
      for (const [socket, deadline] of this.#pending) {
        clearTimeout(deadline);
        socket.destroy();
      }
      this.#pending.clear();
      const host = this.#options.host;
      host.off("swap", this.#listeners.swap);
      host.off("fault", this.#listeners.fault);
      host.off("log", this.#listeners.log);
      const stopped = new Promise<void>((done) => {
        if (!this.#http.listening) done();
        else this.#http.close(() => done());
      });
      await Promise.all([...this.#connections, ...this.#evicted].map((c) => c.close(CLOSE_CODES.goingAway, "server shutting down")));
      this.#http.closeAllConnections();
      await stopped;
      await new Promise<void>((done) => this.#wss.close(() => done()));
      this.#untrack();
    })();
    return this.#closed;
  }

  #publish(stream: "swap" | "fault", data: SwapReport | FaultEvent): void {
    for (const connection of this.#connections) {
      if (stream === "swap") connection.publish("swap", data as SwapReport);
      else connection.publish("fault", data as FaultEvent);
    }
  }

  /**
   * Runs an HTTP-level handler so that nothing throws out of it (an exception in a server
   * listener would reach the process): a failure is reported and the client's socket destroyed.
   */
  #guard(socket: Duplex, handler: () => void): void {
    try {
      handler();
    } catch (err) {
      this.#options.onProblem(`admin server: handling a request failed: ${safeMessageOf(err)}`);
      socket.destroy();
    }
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", (err) => this.#options.onProblem(`admin upgrade: ${err.message}`));
    if (this.#closed !== undefined) return refuse(socket, 503, "the server is shutting down");
    if (pathOf(req.url) !== ADMIN_PATH) return refuse(socket, 404, `no WebSocket at ${pathOf(req.url)} (the admin channel is at ${ADMIN_PATH})`);
    const verdict = checkRequest(req, this.#policy);
    if (!verdict.ok) return refuse(socket, verdict.status, verdict.message);
    if (this.#connections.size >= this.#options.maxConnections && !this.#evictLongestIdle()) {
      return refuse(socket, 503, `too many admin connections (at most ${this.#options.maxConnections}), all with requests running`);
    }
    this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      this.#clearDeadline(socket);
      this.#pending.delete(socket as Socket);
      this.#accept(ws);
    });
  }

  /** A new TCP connection: counted as pending until it is an authenticated WebSocket, with a deadline. */
  #onConnection(socket: Socket): void {
    if (this.#pending.size >= this.#options.maxPendingConnections) {
      const [oldest] = this.#pending.keys();
      if (oldest !== undefined) this.#cutPending(oldest, `more than ${this.#options.maxPendingConnections} connections without an authenticated WebSocket: the oldest was cut`);
    }
    const deadline = setTimeout(() => this.#cutPending(socket, `a connection did not complete its handshake within ${this.#options.handshakeTimeoutMs} ms`), this.#options.handshakeTimeoutMs);
    this.#pending.set(socket, deadline);
    socket.once("close", () => {
      clearTimeout(this.#pending.get(socket));
      this.#pending.delete(socket);
    });
  }

  #clearDeadline(socket: Duplex): void {
    const deadline = this.#pending.get(socket as Socket);
    if (deadline === undefined) return;
    clearTimeout(deadline);
    this.#pending.set(socket as Socket, undefined);
  }

  #cutPending(socket: Socket, why: string): void {
    clearTimeout(this.#pending.get(socket));
    this.#pending.delete(socket);
    this.#options.onProblem(`admin server: ${why}`);
    socket.destroy();
  }

  /**
   * Makes room for a newly authenticated client: closes (4003) the connection that has sent
   * nothing for longest among those with no request running, unsubscribed ones first (a
   * subscriber, e.g. `modhost logs --follow`, is silent on purpose). False when every one is busy.
   */
  #evictLongestIdle(): boolean {
    const now = performance.now();
    const rank = (c: AdminConnection): number => (c.subscribed ? 0 : 1e15) + c.idleMs(now);
    let victim: AdminConnection | undefined;
    for (const connection of this.#connections) {
      if (connection.inFlight > 0) continue;
      if (victim === undefined || rank(connection) > rank(victim)) victim = connection;
    }
    if (victim === undefined) return false;
    this.#connections.delete(victim);
    this.#evicted.add(victim);
    this.#options.onProblem(`admin connection evicted after ${Math.round(victim.idleMs(now))} ms without a message: every slot was taken and a new client needed one`);
    const closed = victim;
    void closed.close(CLOSE_CODES.evicted, "evicted: every admin slot was taken; this client was the longest idle").then(() => this.#evicted.delete(closed));
    return true;
  }

  /** Heartbeat for every client, and closing of clients idle past idleTimeoutMs. */
  #onSweep(): void {
    const now = performance.now();
    for (const connection of [...this.#connections]) {
      if (!connection.heartbeat()) continue;
      if (!connection.subscribed && connection.inFlight === 0 && connection.idleMs(now) > this.#options.idleTimeoutMs) {
        this.#options.onProblem(`admin connection closed: idle for more than ${this.#options.idleTimeoutMs} ms`);
        void connection.close(CLOSE_CODES.idle, `idle: no message and no subscription for ${this.#options.idleTimeoutMs} ms`);
      }
    }
  }

  #accept(ws: WebSocket): void {
    if (this.#closed !== undefined) {
      ws.terminate();
      return;
    }
    const connection = new AdminConnection(ws, {
      run: (request) => this.#requests.run(request),
      maxBufferedBytes: this.#options.maxBufferedBytes,
      rateBurst: this.#options.rateBurst,
      ratePerSecond: this.#options.ratePerSecond,
      maxMessageChars: this.#options.maxMessageBytes,
      onClosed: (closed) => this.#connections.delete(closed),
      onProblem: this.#options.onProblem,
    });
    this.#connections.add(connection);
    connection.send({ type: "welcome", protocol: PROTOCOL_VERSION, server: "modhost" });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    if (path === ADMIN_PATH) return plain(res, 426, "the admin channel is a WebSocket: connect with the modhost command", { Upgrade: "websocket" });
    if (path !== METRICS_PATH) return plain(res, 404, `not found (the server has ${METRICS_PATH} and the WebSocket ${ADMIN_PATH})`);
    if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "use GET", { Allow: "GET, HEAD" });
    const verdict = checkRequest(req, this.#policy);
    if (!verdict.ok) return plain(res, verdict.status, verdict.message, verdict.status === 401 ? { "WWW-Authenticate": "Bearer" } : {});
    const host = this.#options.host;
    host.heaps().then(
      (heaps) => {
        const body = formatPrometheus(host.metrics(), heaps, host.mods());
        res.writeHead(200, { "Content-Type": PROMETHEUS_CONTENT_TYPE, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: unknown) => plain(res, 500, `cannot read the host's metrics: ${messageOf(err)}`),
    );
  }
}

const STATUS_TEXT: Readonly<Record<number, string>> = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" };

/** Answers an upgrade request with an HTTP error and destroys the socket: no WebSocket is made. */
function refuse(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ["WWW-Authenticate: Bearer"] : []),
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`, () => socket.destroy());
}

function plain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = `${message}\n`;
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

function pathOf(url: string | undefined): string {
  return (url ?? "/").split("?")[0] ?? "/";
}

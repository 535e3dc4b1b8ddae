import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import type { LogEvent, ModHost } from "../host/mod-host.js";
import type { FaultEvent } from "../host/mod-slot.js";
import type { SwapReport } from "../host/swap-report.js";
import { trackResource } from "../util/resource-registry.js";
import { AdminConnection } from "./admin-connection.js";
import { AdminRequests } from "./admin-requests.js";
import { checkToken } from "./admin-token.js";
import { LogHistory } from "./log-history.js";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus-text.js";
import { ADMIN_DEFAULTS, ADMIN_PATH, CLOSE_CODES, METRICS_PATH, PROTOCOL_VERSION } from "./protocol.js";
import { checkRequest, isLoopback, type GuardPolicy } from "./request-guard.js";

/** Options of AdminServer.create(). Unknown keys are refused. */
export interface AdminServerOptions {
  /** The host to administer. The server does not own it: close the host after the server. */
  readonly host: ModHost;
  /** The secret clients present as `Authorization: Bearer <token>` (16+ printable characters). */
  readonly token: string;
  /** The host's modsDir: deploys are written there. Without it, deploys are refused. */
  readonly modsDir?: string;
  /** Address to listen on (default `127.0.0.1`). Anything but loopback exposes the channel. */
  readonly hostname?: string;
  /** Port (default 0: any free port; read it back from `port`). */
  readonly port?: number;
  /** Host names the `Host` header may carry (default: loopback names when listening on loopback, any otherwise). */
  readonly allowedHosts?: readonly string[];
  /** `Origin` values allowed (default none: requests from web pages are refused). */
  readonly allowedOrigins?: readonly string[];
  /** Largest message a client may send, in bytes (default 8 MiB); larger ones close the connection with 1009. */
  readonly maxMessageBytes?: number;
  /** Unsent bytes past which a client is dropped with close code 4001 (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Messages a client may send in a burst (default 30)... */
  readonly rateBurst?: number;
  /** ...and per second after it (default 10). */
  readonly ratePerSecond?: number;
  /** Most simultaneous admin connections (default 32); more are refused with HTTP 503. */
  readonly maxConnections?: number;
  /** Log lines kept for the `logs` request (default 1000). */
  readonly logHistory?: number;
  /** Where the server reports problems (a dropped client, a socket error); default: a process warning. */
  readonly onProblem?: (message: string) => void;
}

interface ResolvedAdminOptions {
  readonly host: ModHost;
  readonly token: string;
  readonly modsDir: string | undefined;
  readonly hostname: string;
  readonly port: number;
  readonly allowedHosts: readonly string[] | undefined;
  readonly allowedOrigins: readonly string[];
  readonly maxMessageBytes: number;
  readonly maxBufferedBytes: number;
  readonly rateBurst: number;
  readonly ratePerSecond: number;
  readonly maxConnections: number;
  readonly logHistory: number;
  readonly onProblem: (message: string) => void;
}

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
  readonly #untrack: () => void;
  readonly #listeners: { swap: (r: SwapReport) => void; fault: (f: FaultEvent) => void; log: (l: LogEvent) => void };
  #closed: Promise<void> | undefined;

  private constructor(options: ResolvedAdminOptions) {
    this.#options = options;
    this.#policy = { token: options.token, allowedHosts: options.allowedHosts, loopback: isLoopback(options.hostname), allowedOrigins: options.allowedOrigins };
    this.#history = new LogHistory(options.logHistory, ADMIN_DEFAULTS.maxLogChars);
    this.#requests = new AdminRequests(options.host, options.modsDir, this.#history);
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    this.#http = createServer((req, res) => this.#onRequest(req, res));
    this.#http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    this.#listeners = {
      swap: (report) => this.#publish("swap", report),
      fault: (fault) => this.#publish("fault", fault),
      log: (line) => {
        const numbered = this.#history.add(line);
        for (const connection of this.#connections) connection.publish("log", numbered);
      },
    };
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
      const host = this.#options.host;
      host.off("swap", this.#listeners.swap);
      host.off("fault", this.#listeners.fault);
      host.off("log", this.#listeners.log);
      const stopped = new Promise<void>((done) => {
        if (!this.#http.listening) done();
        else this.#http.close(() => done());
      });
      await Promise.all([...this.#connections].map((c) => c.close(CLOSE_CODES.goingAway, "server shutting down")));
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

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", (err) => this.#options.onProblem(`admin upgrade: ${err.message}`));
    if (this.#closed !== undefined) return refuse(socket, 503, "the server is shutting down");
    if (pathOf(req.url) !== ADMIN_PATH) return refuse(socket, 404, `no WebSocket at ${pathOf(req.url)} (the admin channel is at ${ADMIN_PATH})`);
    const verdict = checkRequest(req, this.#policy);
    if (!verdict.ok) return refuse(socket, verdict.status, verdict.message);
    if (this.#connections.size >= this.#options.maxConnections) return refuse(socket, 503, `too many admin connections (at most ${this.#options.maxConnections})`);
    this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.#accept(ws));
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

const OPTION_KEYS = new Set([
  "host",
  "token",
  "modsDir",
  "hostname",
  "port",
  "allowedHosts",
  "allowedOrigins",
  "maxMessageBytes",
  "maxBufferedBytes",
  "rateBurst",
  "ratePerSecond",
  "maxConnections",
  "logHistory",
  "onProblem",
]);

/** Validates AdminServer.create()'s options, given as unknown because JavaScript callers exist. */
function resolveAdminOptions(input: unknown): ResolvedAdminOptions {
  const fail = (field: string, message: string): never => {
    throw new ModhostError("E_OPTIONS_INVALID", `admin options.${field}: ${message}`, { field });
  };
  if (typeof input !== "object" || input === null) throw new ModhostError("E_OPTIONS_INVALID", "AdminServer.create() needs an options object");
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!OPTION_KEYS.has(key)) fail(key, `unknown option (allowed: ${[...OPTION_KEYS].join(", ")})`);
  const host = o.host;
  if (typeof host !== "object" || host === null || typeof (host as { mods?: unknown }).mods !== "function") fail("host", "must be a ModHost");
  const token = checkToken(o.token, "admin options.token");
  if (o.modsDir !== undefined && (typeof o.modsDir !== "string" || o.modsDir === "")) fail("modsDir", "must be the path of the host's modsDir");
  if (o.hostname !== undefined && (typeof o.hostname !== "string" || o.hostname === "")) fail("hostname", "must be an address to listen on, e.g. 127.0.0.1");
  if (o.port !== undefined && (typeof o.port !== "number" || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) fail("port", "must be a port number from 0 to 65535");
  const names = (key: string): readonly string[] | undefined => {
    const value = o[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v === "")) fail(key, "must be an array of non-empty strings");
    return [...(value as string[])];
  };
  const positive = (key: string, fallback: number): number => {
    const value = o[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) fail(key, "must be a positive number");
    return value as number;
  };
  if (o.onProblem !== undefined && typeof o.onProblem !== "function") fail("onProblem", "must be a function");
  return {
    host: host as ModHost,
    token,
    modsDir: o.modsDir === undefined ? undefined : resolve(o.modsDir as string),
    hostname: (o.hostname as string | undefined) ?? "127.0.0.1",
    port: (o.port as number | undefined) ?? 0,
    allowedHosts: names("allowedHosts"),
    allowedOrigins: names("allowedOrigins") ?? [],
    maxMessageBytes: Math.floor(positive("maxMessageBytes", ADMIN_DEFAULTS.maxMessageBytes)),
    maxBufferedBytes: positive("maxBufferedBytes", ADMIN_DEFAULTS.maxBufferedBytes),
    rateBurst: positive("rateBurst", ADMIN_DEFAULTS.rateBurst),
    ratePerSecond: positive("ratePerSecond", ADMIN_DEFAULTS.ratePerSecond),
    maxConnections: Math.floor(positive("maxConnections", ADMIN_DEFAULTS.maxConnections)),
    logHistory: Math.floor(positive("logHistory", ADMIN_DEFAULTS.logHistory)),
    onProblem: (o.onProblem as ((message: string) => void) | undefined) ?? ((message) => process.emitWarning(message, { code: "MODHOST_ADMIN" })),
  };
}

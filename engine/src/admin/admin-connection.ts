import { performance } from "node:perf_hooks";
import { WebSocket, type RawData } from "ws";
import { safeMessageOf } from "../util/safe-message.js";
import { isModhostError, type ErrorInfo } from "../errors/modhost-error.js";
import type { HostRequest } from "./admin-requests.js";
import { parseRequest } from "./parse-request.js";
import { ADMIN_DEFAULTS, CLOSE_CODES, type RequestId, type ServerMessage, type Stream, type StreamData } from "./protocol.js";
import { TokenBucket } from "./token-bucket.js";

/** What a connection needs from its server. */
export interface ConnectionContext {
  /** Runs a request against the host. */
  readonly run: (request: HostRequest) => Promise<unknown>;
  /** Longest message text accepted (ws already refuses longer frames in bytes). */
  readonly maxMessageChars: number;
  /** Unsent bytes past which the client is dropped. */
  readonly maxBufferedBytes: number;
  readonly rateBurst: number;
  readonly ratePerSecond: number;
  /** Called once when the connection has closed, for whatever reason. */
  readonly onClosed: (connection: AdminConnection) => void;
  /** Problems worth telling the operator about (a socket error, a dropped client). */
  readonly onProblem: (message: string) => void;
}

/** How long a dropped client gets to take its close frame before its socket is destroyed. */
const DROP_GRACE_MS = 1000;

/**
 * One admin client's WebSocket: parses each message against the protocol's schema, applies the
 * rate limit, runs requests, answers each with a result or an error carrying its id, and forwards
 * the streams it subscribed to. Every send checks the socket's unsent bytes first: a client that
 * lets them pass the bound is dropped (close code 4001), so the server never buffers without bound.
 */
export class AdminConnection {
  readonly #ws: WebSocket;
  readonly #context: ConnectionContext;
  readonly #bucket: TokenBucket;
  readonly #streams = new Set<Stream>();
  #modFilter: string | undefined;
  #inFlight = 0;
  /** performance.now() of the last message the client sent (or of the connection's start). */
  #lastMessageAt = performance.now();
  /** Has the client answered the last ping (or not been pinged yet)? */
  #answeredPing = true;
  #dropTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #done: Promise<void>;

  constructor(ws: WebSocket, context: ConnectionContext) {
    this.#ws = ws;
    this.#context = context;
    this.#bucket = new TokenBucket(context.rateBurst, context.ratePerSecond);
    this.#done = new Promise((resolve) => {
      ws.once("close", () => {
        this.#closed = true;
        if (this.#dropTimer !== undefined) clearTimeout(this.#dropTimer);
        this.#streams.clear();
        context.onClosed(this);
        resolve();
      });
    });
    // ws reports socket errors and protocol violations (an oversized message: it closes with
    // 1009 itself) here; the close event that follows does the cleanup.
    ws.on("error", (err) => context.onProblem(`admin connection: ${err.message}`));
    ws.on("message", (data, isBinary) => this.#onMessageSafely(data, isBinary));
    ws.on("pong", () => (this.#answeredPing = true));
  }

  /** How long the client has sent nothing, in ms (pongs do not count: ws libraries answer them unasked). */
  idleMs(now: number = performance.now()): number {
    return now - this.#lastMessageAt;
  }

  /** Is the client subscribed to a stream (so that its silence is expected)? */
  get subscribed(): boolean {
    return this.#streams.size > 0;
  }

  /** How many of its requests are running. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * One heartbeat (ws's own advice for finding dead peers): a client that did not answer the
   * previous ping with a pong is cut off (terminate: a dead peer cannot take a close frame);
   * otherwise it is pinged again. Returns false when the client was cut off.
   */
  heartbeat(): boolean {
    if (this.#closed || this.#ws.readyState !== WebSocket.OPEN) return true;
    if (!this.#answeredPing) {
      this.#context.onProblem("admin connection cut off: no pong to the last heartbeat ping");
      this.#ws.terminate();
      return false;
    }
    this.#answeredPing = false;
    this.#ws.ping();
    return true;
  }

  /** Sends an event of `stream` if this client subscribed to it (and to its mod). */
  publish<S extends Stream>(stream: S, data: StreamData[S]): void {
    if (!this.#streams.has(stream)) return;
    if (this.#modFilter !== undefined && data.mod !== this.#modFilter) return;
    this.send({ type: "event", stream, data } as ServerMessage);
  }

  /** Sends a message, or drops the client if it has let too much pile up unread. */
  send(message: ServerMessage): void {
    if (this.#closed || this.#ws.readyState !== WebSocket.OPEN || this.#dropTimer !== undefined) return;
    if (this.#ws.bufferedAmount > this.#context.maxBufferedBytes) {
      this.#drop();
      return;
    }
    this.#ws.send(JSON.stringify(message));
  }

  /**
   * Closes the connection with `code` and resolves once it is closed; a client that does not
   * complete the closing handshake within a second is cut off. Idempotent.
   */
  close(code: number, reason: string): Promise<void> {
    if (!this.#closed && this.#dropTimer === undefined) {
      if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(code, reason);
      this.#dropTimer = setTimeout(() => this.#ws.terminate(), DROP_GRACE_MS);
    }
    return this.#done;
  }

  #drop(): void {
    this.#context.onProblem(`admin connection dropped: the client left more than ${this.#context.maxBufferedBytes} bytes unread`);
    void this.close(CLOSE_CODES.slowConsumer, "slow consumer: too much unread data");
  }

  /**
   * The message handler ws calls: nothing may throw out of it (ws would let it reach the process
   * as an uncaught exception). An internal failure is answered as E_INTERNAL and the connection
   * goes on.
   */
  #onMessageSafely(data: RawData, isBinary: boolean): void {
    try {
      this.#onMessage(data, isBinary);
    } catch (err) {
      const message = safeMessageOf(err);
      this.#context.onProblem(`admin connection: handling a message failed: ${message}`);
      try {
        this.#error(null, { code: "E_INTERNAL", message: `the server failed to handle the message: ${message}` });
      } catch (sendErr) {
        this.#context.onProblem(`admin connection: cannot answer: ${safeMessageOf(sendErr)}`);
      }
    }
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    this.#lastMessageAt = performance.now();
    if (isBinary) {
      this.#error(null, { code: "E_ADMIN_MESSAGE", message: "binary messages are not part of the protocol: send JSON text" });
      return;
    }
    const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString("utf8");
    const parsed = parseRequest(text, this.#context.maxMessageChars);
    if (!this.#bucket.take()) {
      this.#error(parsed.ok ? parsed.request.id : parsed.id, { code: "E_ADMIN_RATE_LIMITED", message: `more than ${this.#context.rateBurst} messages in a burst or ${this.#context.ratePerSecond} per second; slow down` });
      return;
    }
    if (!parsed.ok) {
      this.#error(parsed.id, parsed.error);
      return;
    }
    const request = parsed.request;
    if (request.type === "subscribe") {
      for (const stream of request.streams) this.#streams.add(stream);
      this.#modFilter = request.mod;
      this.send({ type: "result", id: request.id, result: { streams: [...this.#streams] } });
      return;
    }
    if (request.type === "unsubscribe") {
      for (const stream of request.streams ?? [...this.#streams]) this.#streams.delete(stream);
      this.send({ type: "result", id: request.id, result: { streams: [...this.#streams] } });
      return;
    }
    if (this.#inFlight >= ADMIN_DEFAULTS.maxInFlight) {
      this.#error(request.id, { code: "E_ADMIN_RATE_LIMITED", message: `${ADMIN_DEFAULTS.maxInFlight} requests of this connection are still running; wait for their answers` });
      return;
    }
    this.#inFlight++;
    this.#context
      .run(request)
      .then(
        (result) => this.send({ type: "result", id: request.id, result }),
        (err: unknown) => this.#error(request.id, errorInfo(err)),
      )
      .catch((err: unknown) => this.#context.onProblem(`admin connection: cannot answer request ${String(request.id)}: ${safeMessageOf(err)}`))
      .finally(() => this.#inFlight--);
  }

  #error(id: RequestId | null, error: ErrorInfo): void {
    this.send({ type: "error", id, error });
  }
}

/** The error to answer with: a ModhostError's own data, anything else as E_INTERNAL without stack. */
function errorInfo(err: unknown): ErrorInfo {
  if (isModhostError(err)) return err.toInfo();
  return { code: "E_INTERNAL", message: safeMessageOf(err) };
}

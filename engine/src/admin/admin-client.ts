import type { ClientRequest, IncomingMessage } from "node:http";
import { WebSocket, type RawData } from "ws";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { trackResource } from "../util/resource-registry.js";
import { safeMessageOf } from "../util/safe-message.js";
import { checkResult, parseServerMessage } from "./parse-server-message.js";
import { ADMIN_PATH, CLOSE_CODES, PROTOCOL_VERSION, type RequestMap, type RequestType, type ServerMessage, type StreamEvent } from "./protocol.js";

/** Options of AdminClient.connect(). */
export interface AdminClientOptions {
  /** Give up connecting after this long (default 10 s). */
  readonly timeoutMs?: number;
}

interface Pending {
  readonly type: RequestType;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: ModhostError) => void;
}

/**
 * The admin channel's WebSocket URL for a server given as `http://host:port`, `ws://host:port`
 * (the `/admin` path is added when missing) or `host:port`. Throws E_OPTIONS_INVALID for anything
 * else.
 */
export function adminUrl(server: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(server) ? server : `http://${server}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (err) {
    throw new ModhostError("E_OPTIONS_INVALID", `--server ${JSON.stringify(server)} is not a URL like http://127.0.0.1:4555`, { field: "server" }, { cause: err });
  }
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new ModhostError("E_OPTIONS_INVALID", `--server ${JSON.stringify(server)}: use http://, https://, ws:// or wss://`, { field: "server" });
  }
  if (url.pathname === "/" || url.pathname === "") url.pathname = ADMIN_PATH;
  return url.toString();
}

/**
 * A client of the admin channel (what the `modhost` command uses): connects with the token, sends
 * requests and matches answers by id, and passes stream events to listeners. Create it with
 * `AdminClient.connect()`; release it with `close()`.
 */
export class AdminClient {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #eventListeners = new Set<(event: StreamEvent) => void>();
  readonly #closed: Promise<{ code: number; reason: string }>;
  readonly #untrack: () => void;
  #nextId = 1;
  #lastError: Error | undefined;
  #closing: Promise<void> | undefined;

  private constructor(ws: WebSocket, untrack: () => void) {
    this.#ws = ws;
    this.#untrack = untrack;
    this.#closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => {
        const why = reason.toString("utf8");
        for (const pending of this.#pending.values()) {
          const cause = this.#lastError !== undefined ? `; ${this.#lastError.message}` : "";
          pending.reject(new ModhostError("E_ADMIN_UNAVAILABLE", `the connection closed (${code}${why ? `: ${why}` : ""}${cause}) before the answer to "${pending.type}"`));
        }
        this.#pending.clear();
        this.#untrack();
        resolve({ code, reason: why });
      });
    });
    ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    // An error always ends in a close, which rejects what is pending; keep it to say why.
    ws.on("error", (err) => (this.#lastError = err));
  }

  /**
   * Connects to `server` (see adminUrl) with `token` and waits for the server's welcome. Rejects
   * with E_ADMIN_AUTH (wrong or missing token: HTTP 401), E_ADMIN_FORBIDDEN (403) or
   * E_ADMIN_UNAVAILABLE (nothing there, another HTTP answer, a timeout, another protocol version).
   */
  static connect(server: string, token: string, options: AdminClientOptions = {}): Promise<AdminClient> {
    const url = adminUrl(server);
    const timeoutMs = options.timeoutMs ?? 10_000;
    const untrack = trackResource("admin-client");
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, handshakeTimeout: timeoutMs, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    return new Promise<AdminClient>((resolve, reject) => {
      let refusal: ModhostError | undefined;
      const timer = setTimeout(() => fail(new ModhostError("E_ADMIN_UNAVAILABLE", `no welcome from ${url} within ${timeoutMs} ms`)), timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        ws.off("unexpected-response", onUnexpected);
        ws.off("message", onWelcome);
        ws.off("close", onClose);
      };
      const fail = (error: ModhostError): void => {
        settle();
        ws.off("error", onError);
        ws.on("error", () => undefined); // the close that follows is all that is left to see
        if (ws.readyState === WebSocket.CLOSED) untrack();
        else {
          ws.once("close", () => untrack());
          ws.terminate();
        }
        reject(error);
      };
      const onUnexpected = (req: ClientRequest, res: IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (body.length < 1024) body += chunk;
        });
        res.on("error", () => undefined); // the refusal below is the error to report
        res.once("end", () => {
          const why = body.trim();
          const code = status === 401 ? "E_ADMIN_AUTH" : status === 403 ? "E_ADMIN_FORBIDDEN" : "E_ADMIN_UNAVAILABLE";
          const hint = status === 401 ? " (give the server's token with --token-file or MODHOST_TOKEN)" : "";
          refusal = new ModhostError(code, `${url} refused the connection: HTTP ${status}${why ? ` ${why}` : ""}${hint}`);
          req.destroy();
          fail(refusal);
        });
      };
      const onError = (err: Error): void => {
        if (refusal === undefined) fail(new ModhostError("E_ADMIN_UNAVAILABLE", `cannot connect to ${url}: ${messageOf(err)}`, {}, { cause: err }));
      };
      const onClose = (code: number, reason: Buffer): void => {
        fail(new ModhostError("E_ADMIN_UNAVAILABLE", `${url} closed the connection before its welcome (${code} ${reason.toString("utf8")})`));
      };
      const onWelcome = (data: RawData): void => {
        let message: ServerMessage;
        try {
          message = parseServerMessage(textOf(data));
        } catch (err) {
          fail(new ModhostError("E_ADMIN_UNAVAILABLE", `${url} is not a modhost admin server: ${messageOf(err)}`, {}, { cause: err }));
          return;
        }
        if (message.type !== "welcome") return fail(new ModhostError("E_ADMIN_UNAVAILABLE", `${url} sent ${message.type} before its welcome`));
        if (message.protocol !== PROTOCOL_VERSION) {
          return fail(new ModhostError("E_ADMIN_UNAVAILABLE", `${url} speaks admin protocol ${message.protocol}; this modhost speaks ${PROTOCOL_VERSION}`));
        }
        settle();
        ws.off("error", onError);
        resolve(new AdminClient(ws, untrack));
      };
      ws.on("unexpected-response", onUnexpected);
      ws.on("error", onError);
      ws.on("close", onClose);
      ws.on("message", onWelcome);
    });
  }

  /** Sends a request and resolves with its result; rejects with the server's error as a ModhostError. */
  request<T extends RequestType>(type: T, params: RequestMap[T]["params"]): Promise<RequestMap[T]["result"]> {
    if (this.#ws.readyState !== WebSocket.OPEN) return Promise.reject(new ModhostError("E_ADMIN_UNAVAILABLE", `the connection is closed; cannot send "${type}"`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { type, resolve: resolve as (result: unknown) => void, reject });
      this.#ws.send(JSON.stringify({ ...params, id, type }));
    });
  }

  /** Calls `listener` for every event of the streams subscribed to; returns the unsubscriber. */
  onEvent(listener: (event: StreamEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** Resolves with the close code and reason once the connection is closed (by either side). */
  get closed(): Promise<{ code: number; reason: string }> {
    return this.#closed;
  }

  /** Closes the connection (code 1000) and resolves once it is closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(CLOSE_CODES.normal);
      const timer = setTimeout(() => this.#ws.terminate(), 2000);
      await this.#closed;
      clearTimeout(timer);
    })();
    return this.#closing;
  }

  /**
   * Handles one message from the server. Nothing may throw out of it (ws would let it reach the
   * process): a malformed message fails what is pending, a throwing event listener is reported as
   * a process warning.
   */
  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) return;
    let message: ServerMessage;
    try {
      message = parseServerMessage(textOf(data));
    } catch (err) {
      this.#failAll(`the server sent a malformed message: ${safeMessageOf(err)}`);
      return;
    }
    if (message.type === "event") {
      for (const listener of this.#eventListeners) {
        try {
          listener(message);
        } catch (err) {
          process.emitWarning(`an admin event listener threw: ${safeMessageOf(err)}`, { code: "MODHOST_ADMIN" });
        }
      }
      return;
    }
    if (message.type === "welcome") return;
    const id = message.id;
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (pending === undefined) {
      // An error about a message the server could not read (id null) or an unknown id: nothing waits for it.
      if (message.type === "error") this.#failAll(`the server reported: ${message.error.code} ${message.error.message}`);
      return;
    }
    this.#pending.delete(id as number);
    if (message.type === "error") {
      const { code, message: text, ...location } = message.error;
      pending.reject(new ModhostError(code, text, location));
      return;
    }
    try {
      checkResult(pending.type, message.result);
    } catch (err) {
      pending.reject(new ModhostError("E_ADMIN_UNAVAILABLE", safeMessageOf(err)));
      return;
    }
    pending.resolve(message.result);
  }

  #failAll(message: string): void {
    for (const pending of this.#pending.values()) pending.reject(new ModhostError("E_ADMIN_UNAVAILABLE", message));
    this.#pending.clear();
  }
}

function textOf(data: RawData): string {
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString("utf8");
}

/**
 * The admin protocol: every message type, stream name and close code the admin server and its
 * clients (the `modhost` command) exchange, in one module both sides import. docs/admin-protocol.md
 * describes it for people writing other clients.
 *
 * Every message is one JSON object in one text frame.
 * - client -> server: a request `{ id, type, ...params }`; `id` is a string (1-64 characters) or a
 *   safe integer chosen by the client, echoed in the answer.
 * - server -> client: `welcome` once on connect, then `result` or `error` for each request (same
 *   `id`), and `event` for each line of a stream the client subscribed to.
 */
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { MetricsSnapshot } from "../host/host-metrics.js";
import type { LogEvent, ModInfo } from "../host/mod-host.js";
import type { VersionInfo } from "../host/version-ledger.js";
import type { EmitResult, FaultEvent } from "../model/mod-events.js";
import type { SwapReport } from "../model/swap-report.js";

/** Bumped on any incompatible change; sent in `welcome`. */
export const PROTOCOL_VERSION = 1;

/** The path of the admin WebSocket on the server. */
export const ADMIN_PATH = "/admin";

/** The path of the Prometheus metrics endpoint on the server. */
export const METRICS_PATH = "/metrics";

/** The request types a client may send. */
export const REQUEST_TYPES = {
  /** `{}` -> `{ mods: ModInfo[] }` */
  status: "status",
  /** `{ mod }` -> SwapReport */
  reload: "reload",
  /** `{ mod, to? }` -> SwapReport (`to`: an earlier version, or a hash prefix) */
  rollback: "rollback",
  /** `{ mod }` -> SwapReport */
  approve: "approve",
  /** `{ files: { "mod.json": text, "main.ts": text, ... } }` -> SwapReport */
  deploy: "deploy",
  /** `{ mod?, limit? }` -> `{ lines: LogLine[] }` (the most recent lines, oldest first) */
  logs: "logs",
  /** `{}` -> `{ metrics: MetricsSnapshot, heaps }` */
  metrics: "metrics",
  /** `{ event, payload?, mod? }` -> `{ results: EmitResult[], ms }` (the game's emit; `mod` keeps only that mod's result) */
  emit: "emit",
  /** `{ mod }` -> `{ state, ms }` (a copy of the mod's state after every event emitted before) */
  state: "state",
  /** `{ mod }` -> `{ versions: VersionInfo[] }` (oldest first: history, live, held) */
  versions: "versions",
  /** `{}` -> `{ mods: { [mod]: eventName[] } }` (what each running mod handles) */
  events: "events",
  /** `{ streams: Stream[], mod? }` -> `{ streams: Stream[] }` (the connection's streams after it) */
  subscribe: "subscribe",
  /** `{ streams? }` (default: all) -> `{ streams: Stream[] }` */
  unsubscribe: "unsubscribe",
} as const;

/** A request type. */
export type RequestType = keyof typeof REQUEST_TYPES;

/** The message types the server sends. */
export const SERVER_MESSAGE_TYPES = {
  welcome: "welcome",
  result: "result",
  error: "error",
  event: "event",
} as const;

/** The streams a client can subscribe to. */
export const STREAMS = {
  /** every SwapReport (reloads, deploys, rollbacks, approvals, automatic rollbacks, loads) */
  swap: "swap",
  /** every FaultEvent (timeouts, memory limits, crashes, quarantines) */
  fault: "fault",
  /** every line a mod logs (as LogLine) */
  log: "log",
} as const;

/** A stream name. */
export type Stream = keyof typeof STREAMS;

/**
 * WebSocket close codes the server uses. 1000-1015 are the standard ones (RFC 6455); 4000-4999 are
 * this protocol's own.
 */
export const CLOSE_CODES = {
  /** The server or the client closed the connection normally. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** A frame the protocol does not allow (sent by `ws` itself, e.g. a bad opcode). */
  protocolError: 1002,
  /** A message was larger than the server's maximum message size (sent by `ws` itself). */
  messageTooBig: 1009,
  /** The client did not read what the server sent fast enough: its send buffer passed the bound. */
  slowConsumer: 4001,
  /** The client sent nothing and subscribed to nothing for `idleTimeoutMs`. */
  idle: 4002,
  /** Every connection slot was taken and a newly authenticated client needed one: the longest-idle client made way. */
  evicted: 4003,
} as const;

/** A request id, as the client chose it. */
export type RequestId = string | number;

/** A log line as the admin channel carries it: the host's LogEvent, numbered and timed. */
export interface LogLine extends LogEvent {
  /** Increases by one for every line the server saw (lines dropped from the history leave gaps). */
  readonly seq: number;
  /** When the server got it, in ms since the epoch. */
  readonly time: number;
}

/** Heap use of each running mod, in bytes. */
export type HeapUse = Readonly<Record<string, { readonly usedBytes: number; readonly limitBytes: number }>>;

/** Each request type's parameters (besides `id` and `type`) and result. */
export interface RequestMap {
  status: { params: Record<never, never>; result: { mods: ModInfo[] } };
  /** `by`: who asks (e.g. user@machine), kept with the version for `versions`. */
  reload: { params: { mod: string; by?: string }; result: SwapReport };
  rollback: { params: { mod: string; to?: string; by?: string }; result: SwapReport };
  approve: { params: { mod: string; by?: string }; result: SwapReport };
  /** `files` (path -> text) of a mod, or `package`: a tarball packed by `modhost pack`, base64. */
  deploy: { params: ({ files: Record<string, string>; package?: never } | { package: string; files?: never }) & { by?: string }; result: SwapReport };
  logs: { params: { mod?: string; limit?: number }; result: { lines: LogLine[] } };
  metrics: { params: Record<never, never>; result: { metrics: MetricsSnapshot; heaps: HeapUse } };
  /** `ms`: from the request reaching the server to every mod's answer. */
  emit: { params: { event: string; payload?: unknown; mod?: string }; result: { results: EmitResult[]; ms: number } };
  state: { params: { mod: string }; result: { state: unknown; ms: number } };
  versions: { params: { mod: string }; result: { versions: VersionInfo[] } };
  events: { params: Record<never, never>; result: { mods: Record<string, string[]> } };
  subscribe: { params: { streams: Stream[]; mod?: string }; result: { streams: Stream[] } };
  unsubscribe: { params: { streams?: Stream[] }; result: { streams: Stream[] } };
}

/** A parsed request. */
export type AdminRequest = { [T in RequestType]: { readonly id: RequestId; readonly type: T } & RequestMap[T]["params"] }[RequestType];

/** What the data of each stream's events is. */
export interface StreamData {
  swap: SwapReport;
  fault: FaultEvent;
  log: LogLine;
}

/** An event of a subscribed stream. */
export type StreamEvent = { [S in Stream]: { readonly type: "event"; readonly stream: S; readonly data: StreamData[S] } }[Stream];

/** A message the server sends. */
export type ServerMessage =
  | { readonly type: "welcome"; readonly protocol: number; readonly server: string }
  | { readonly type: "result"; readonly id: RequestId; readonly result: unknown }
  | { readonly type: "error"; readonly id: RequestId | null; readonly error: ErrorInfo }
  | StreamEvent;

/** Default limits of the admin server (each can be changed in AdminServerOptions). */
export const ADMIN_DEFAULTS = {
  /** Largest message a client may send, in bytes (a deploy carries a whole mod). */
  maxMessageBytes: 8 * 1024 * 1024,
  /** A connection whose unsent data passes this many bytes is dropped (close code 4001). */
  maxBufferedBytes: 4 * 1024 * 1024,
  /** Messages a client may send in a burst... */
  rateBurst: 30,
  /** ...and per second after it (a token bucket). */
  ratePerSecond: 10,
  /** Requests of one connection that may run at once; more are refused (E_ADMIN_RATE_LIMITED). */
  maxInFlight: 8,
  /** Most simultaneous admin connections; when all are taken, a new one evicts the longest-idle client. */
  maxConnections: 32,
  /** Most TCP connections not (yet) upgraded to an authenticated WebSocket; over it the oldest is cut. */
  maxPendingConnections: 64,
  /** A TCP connection must complete its upgrade (or send its first HTTP request) within this many ms. */
  handshakeTimeoutMs: 10_000,
  /** Ping interval; a client that has not answered the previous ping is cut off. */
  heartbeatMs: 15_000,
  /** A client that sends nothing and is subscribed to nothing for this long is closed (4002). */
  idleTimeoutMs: 10 * 60_000,
  /** Log lines kept for the `logs` request. */
  logHistory: 1000,
  /** Longest log message the channel carries, in characters; longer ones are cut. */
  maxLogChars: 8192,
} as const;

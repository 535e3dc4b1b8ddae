import type { ModHost } from "../host/mod-host.js";
import type { KeyedMutex } from "../util/keyed-mutex.js";
import type { HeldDeploys } from "./held-deploys.js";
import type { LogHistory } from "./log-history.js";
import type { AdminRequest, RequestMap } from "./protocol.js";

/** The requests a connection forwards to the host (subscriptions are the connection's own). */
export type HostRequest = Exclude<AdminRequest, { type: "subscribe" | "unsubscribe" }>;

/** A host request type. */
export type HostRequestType = HostRequest["type"];

/** What every request handler may use: the host, where deploys go, the log history. */
export interface RequestContext {
  readonly host: ModHost;
  /** The host's modsDir, where deploys are written; undefined refuses deploys. */
  readonly modsDir: string | undefined;
  readonly history: LogHistory;
  /** Deploys and approvals that write files, one at a time. */
  readonly writes: KeyedMutex<"deploy">;
  /** Deployed versions held for approval, with their files (not on disk until approved), and who deployed what. */
  readonly held: HeldDeploys;
}

/** Runs one request type; rejects with the host's ModhostError when it refuses. */
export type RequestHandler<T extends HostRequestType> = (request: Extract<HostRequest, { type: T }>, context: RequestContext) => Promise<RequestMap[T]["result"]>;

/** One handler per request type: each group of requests lives in its own file. */
export type RequestHandlerTable = { readonly [T in HostRequestType]: RequestHandler<T> };

/** Runs `request` with its handler from `table`. */
export function runRequest(table: RequestHandlerTable, request: HostRequest, context: RequestContext): Promise<unknown> {
  const handler = table[request.type] as RequestHandler<typeof request.type>;
  return handler(request as never, context);
}

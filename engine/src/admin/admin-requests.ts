import type { ModHost } from "../host/mod-host.js";
import { KeyedMutex } from "../util/keyed-mutex.js";
import { CONSOLE_REQUESTS } from "./console-requests.js";
import { HeldDeploys } from "./held-deploys.js";
import type { LogHistory } from "./log-history.js";
import { runRequest, type HostRequest, type RequestContext, type RequestHandlerTable } from "./request-handlers.js";
import { STATUS_REQUESTS } from "./status-requests.js";
import { SWAP_REQUESTS } from "./swap-requests.js";

export type { HostRequest } from "./request-handlers.js";

/** Every host request's handler, by type: each group lives in its own file. */
const HANDLERS: RequestHandlerTable = { ...STATUS_REQUESTS, ...SWAP_REQUESTS, ...CONSOLE_REQUESTS };

/** Runs admin requests against a host through the handler table. */
export class AdminRequests {
  readonly #context: RequestContext;

  /**
   * @param modsDir the host's modsDir, where deploys are written; undefined refuses deploys.
   */
  constructor(host: ModHost, modsDir: string | undefined, history: LogHistory) {
    this.#context = { host, modsDir, history, writes: new KeyedMutex<"deploy">(), held: new HeldDeploys() };
  }

  /** Runs one request; rejects with the host's ModhostError when it refuses. */
  run(request: HostRequest): Promise<unknown> {
    return runRequest(HANDLERS, request, this.#context);
  }
}

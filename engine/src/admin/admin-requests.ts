import { ModhostError } from "../errors/modhost-error.js";
import type { ModHost } from "../host/mod-host.js";
import type { SwapReport } from "../host/swap-report.js";
import { writeDeploy } from "./deploy-writer.js";
import type { LogHistory } from "./log-history.js";
import type { AdminRequest, RequestMap } from "./protocol.js";

/** The requests a connection forwards to the host (subscriptions are the connection's own). */
export type HostRequest = Exclude<AdminRequest, { type: "subscribe" | "unsubscribe" }>;

const DEFAULT_LOG_LIMIT = 200;

/**
 * Runs admin requests against a host: status, reload, rollback, approve, deploy, logs, metrics.
 * Deploys write their files one deploy at a time, so two deploys never interleave their files;
 * their reloads then queue and coalesce as reloads of local saves do (the last files written win).
 */
export class AdminRequests {
  readonly #host: ModHost;
  readonly #modsDir: string | undefined;
  readonly #history: LogHistory;
  #writes: Promise<void> = Promise.resolve();

  /**
   * @param modsDir the host's modsDir, where deploys are written; undefined refuses deploys.
   */
  constructor(host: ModHost, modsDir: string | undefined, history: LogHistory) {
    this.#host = host;
    this.#modsDir = modsDir;
    this.#history = history;
  }

  /** Runs one request; rejects with the host's ModhostError when it refuses. */
  async run(request: HostRequest): Promise<RequestMap[HostRequest["type"]]["result"]> {
    switch (request.type) {
      case "status":
        return { mods: this.#host.mods() };
      case "reload":
        return this.#host.reload(request.mod);
      case "rollback":
        return this.#host.rollback(request.mod);
      case "approve":
        return this.#host.approve(request.mod);
      case "deploy":
        return this.#deploy(request.files);
      case "logs":
        return { lines: this.#history.recent(request.limit ?? DEFAULT_LOG_LIMIT, request.mod) };
      case "metrics":
        return { metrics: this.#host.metrics(), heaps: await this.#host.heaps() };
    }
  }

  async #deploy(files: Record<string, string>): Promise<SwapReport> {
    const modsDir = this.#modsDir;
    if (modsDir === undefined) throw new ModhostError("E_DEPLOY_REFUSED", "this server does not accept deploys (it was started without a modsDir for them)");
    // One deploy's writes at a time keeps the folder lookup and the files of two deploys of the
    // same (possibly new) mod from interleaving; the reloads themselves go on in parallel.
    const written = this.#writes.then(() => writeDeploy(modsDir, files));
    this.#writes = written.then(
      () => undefined,
      () => undefined, // this deploy's caller gets its error from `written`
    );
    const target = await written;
    return this.#host.load(target.dir);
  }
}

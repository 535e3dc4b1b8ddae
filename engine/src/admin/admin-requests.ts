import { ModhostError } from "../errors/modhost-error.js";
import type { ModHost } from "../host/mod-host.js";
import type { SwapReport } from "../model/swap-report.js";
import { deploy, type DeployOutcome } from "../deploy/deploy-writer.js";
import type { LogHistory } from "./log-history.js";
import type { AdminRequest, RequestMap } from "./protocol.js";
import { KeyedMutex } from "../util/keyed-mutex.js";

/** The requests a connection forwards to the host (subscriptions are the connection's own). */
export type HostRequest = Exclude<AdminRequest, { type: "subscribe" | "unsubscribe" }>;

const DEFAULT_LOG_LIMIT = 200;

/**
 * Runs admin requests against a host: status, reload, rollback, approve, deploy, logs, metrics.
 * Deploys run one at a time from staging to the host's answer (see deploy-writer), so that a
 * refused deploy can put back exactly the folder it replaced.
 */
export class AdminRequests {
  readonly #host: ModHost;
  readonly #modsDir: string | undefined;
  readonly #history: LogHistory;
  /** Deploys, one at a time. */
  readonly #writes = new KeyedMutex<"deploy">();

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
        return request.package !== undefined ? this.#deployPackage(request.package) : this.#deploy(request.files);
      case "logs":
        return { lines: this.#history.recent(request.limit ?? DEFAULT_LOG_LIMIT, request.mod) };
      case "metrics":
        return { metrics: this.#host.metrics(), heaps: await this.#host.heaps() };
    }
  }

  async #deploy(files: Record<string, string>): Promise<SwapReport> {
    const modsDir = this.#modsDir;
    if (modsDir === undefined) throw new ModhostError("E_DEPLOY_REFUSED", "this server does not accept deploys (it was started without a modsDir for them)");
    const outcome = await this.#writes.run("deploy", () => deploy(modsDir, files, (dir) => this.#host.load(dir)));
    if (outcome.report.ok) await this.#host.noteDeployed(outcome.name);
    return describeOutcome(outcome);
  }

  /** A packed tarball: verified by the host against its trusted keys, then deployed the same way (one deploy at a time). */
  async #deployPackage(base64: string): Promise<SwapReport> {
    if (this.#modsDir === undefined) throw new ModhostError("E_DEPLOY_REFUSED", "this server does not accept deploys (it was started without a modsDir for them)");
    return this.#writes.run("deploy", () => this.#host.installPackage(Buffer.from(base64, "base64")));
  }
}

/** The deploy's report, its error saying what became of the deployed files. */
function describeOutcome(outcome: DeployOutcome): SwapReport {
  const { report } = outcome;
  if (report.error === undefined) return report;
  const note = outcome.restored
    ? "the deploy was undone: the mod's folder holds its previous files again"
    : report.error.code === "E_APPROVAL_REQUIRED"
      ? "the deployed files stay in the mod's folder, held until approved or replaced"
      : undefined;
  return note === undefined ? report : { ...report, error: { ...report.error, message: `${report.error.message} (${note})` } };
}

import semver from "semver";
import { ModhostError, isModhostError, messageOf, type ErrorInfo } from "../errors/modhost-error.js";
import { trackResource } from "../util/resource-registry.js";
import type { PackageCache } from "./package-cache.js";
import { verifyPackage, type VerifiedPackage } from "./package-verifier.js";
import { resolveSpec, type RegistryClient } from "./registry-client.js";
import type { TrustedKeys } from "./trusted-keys.js";

/** A followed package: its npm name and the dist-tag or exact version to follow. */
export interface FollowTarget {
  readonly name: string;
  readonly spec: string;
}

/** Where a verified package came from, for installs and provenance. */
export interface PackageOrigin {
  readonly source: "registry" | "cache";
  readonly package: string;
  readonly version: string;
  readonly keyId: string;
  readonly sha256: string;
}

/** What the follower needs from its host. */
export interface FollowerHost {
  /** The mod this package has carried and the newest version of it the server has run, if any. */
  current(pkg: FollowTarget): { readonly mod?: string; readonly version?: string };
  /** The version of the package's mod live right now, if it is loaded. */
  running(pkg: FollowTarget): string | undefined;
  /** Loads a verified package through the normal pipeline; resolves true when it is live (or held for approval). */
  install(pkg: VerifiedPackage, origin: PackageOrigin): Promise<boolean>;
  /** A line for the host's `log` event. */
  log(level: "info" | "warn" | "error", message: string, mod?: string): void;
  /** A refused package or an unreachable registry, for the metrics. */
  failed(pkg: FollowTarget, error: ErrorInfo): void;
}

/** The follower's settings. */
export interface FollowerOptions {
  readonly client: RegistryClient;
  readonly trust: TrustedKeys;
  /** Where verified packages are kept (stateDir/packages); without one a restart needs the registry. */
  readonly cache: PackageCache | undefined;
  readonly follow: readonly FollowTarget[];
  readonly pollMs: number;
}

/** What one poll of one package did. */
export type PollOutcome =
  | { readonly kind: "not-modified" | "unchanged" | "installed" | "skipped" }
  | { readonly kind: "refused"; readonly error: ErrorInfo };

interface Followed {
  etag?: string;
  /** `version integrity` pairs already refused: not downloaded again on every poll. */
  readonly refused: Map<string, ErrorInfo>;
  lastError?: string;
}

/**
 * Polls the registry for each followed package and hands every new, verified version to the host.
 * One poll at a time (a slow registry never stacks polls); close() stops the timer and aborts the
 * requests in flight. Nothing but the cache is ever written.
 */
export class PackageFollower {
  readonly #options: FollowerOptions;
  readonly #host: FollowerHost;
  readonly #state = new Map<string, Followed>();
  readonly #abort: AbortController;
  readonly #release = trackResource("package-follower");
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(options: FollowerOptions, host: FollowerHost, abort: AbortController) {
    this.#options = options;
    this.#host = host;
    this.#abort = abort;
    for (const target of options.follow) this.#state.set(target.name, { refused: new Map() });
  }

  /**
   * Installs each followed package's cached version that is newer than what runs (restart with the
   * registry down). Cached tarballs are verified again, against today's trusted keys.
   */
  async restoreFromCache(): Promise<void> {
    for (const target of this.#options.follow) {
      const cache = this.#options.cache;
      if (cache === undefined) return;
      const ref = await cache.ref(target.name).catch((err: unknown) => {
        this.#host.log("warn", `package cache: ${messageOf(err)}`);
        return undefined;
      });
      if (ref === undefined) continue;
      // Installed again when the mod is not loaded (its folder was lost) or runs an older version.
      const current = this.#host.current(target);
      const running = this.#host.running(target);
      if (running !== undefined && !semver.gt(ref.version, running)) continue;
      const tarball = await cache.blob(ref.sha256);
      if (tarball === undefined) {
        this.#host.log("warn", `package cache: ${target.name}@${ref.version} (${ref.sha256}) is missing or damaged; waiting for the registry`);
        continue;
      }
      try {
        const verified = await verifyPackage(tarball, { trust: this.#options.trust, packageName: target.name, integrity: ref.integrity, ...(current.mod !== undefined ? { modName: current.mod } : {}), ...(running !== undefined ? { newerThan: running } : {}) });
        await this.#host.install(verified, { source: "cache", package: target.name, version: ref.version, keyId: verified.keyId, sha256: ref.sha256 });
      } catch (err) {
        this.#refuse(target, errorInfo(err));
      }
    }
  }

  /** Starts polling every pollMs (the first poll at once). */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const tick = (): void => {
      void this.pollNow().finally(() => {
        if (!this.#closed) this.#timer = setTimeout(tick, this.#options.pollMs);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Polls every followed package once (joins a poll under way). */
  pollNow(): Promise<void> {
    this.#polling ??= (async () => {
      try {
        for (const target of this.#options.follow) {
          if (this.#closed) return;
          await this.poll(target);
        }
      } finally {
        this.#polling = undefined;
      }
    })();
    return this.#polling;
  }

  /** Polls one package: packument (conditional), version choice, download, verification, install. */
  async poll(target: FollowTarget): Promise<PollOutcome> {
    const state: Followed = this.#state.get(target.name) ?? { refused: new Map() };
    this.#state.set(target.name, state);
    try {
      const answer = await this.#options.client.packument(target.name, state.etag);
      if (answer.status === "not-modified") return this.#ok(state, { kind: "not-modified" });
      const entry = resolveSpec(answer.packument, target.spec);
      const current = this.#host.current(target);
      if (current.version === entry.version) {
        if (answer.etag !== undefined) state.etag = answer.etag;
        return this.#ok(state, { kind: "unchanged" });
      }
      const key = `${entry.version} ${entry.integrity}`;
      const known = state.refused.get(key);
      if (known !== undefined) {
        if (answer.etag !== undefined) state.etag = answer.etag;
        return { kind: "refused", error: known };
      }
      if (current.version !== undefined && semver.lt(entry.version, current.version)) {
        // Refused without a download: the tag moved back. Checked again after verification too.
        throw new ModhostError("E_DOWNGRADE", `${target.name}@${target.spec} now names ${entry.version}, older than ${current.version} which this server has run; not downgrading (rolling back is the operator's act: modhost rollback)`, current.mod !== undefined ? { mod: current.mod } : {});
      }
      const tarball = await this.#options.client.tarball(entry, target.name);
      let verified: VerifiedPackage;
      try {
        verified = await verifyPackage(tarball, {
          trust: this.#options.trust,
          packageName: target.name,
          version: entry.version,
          integrity: entry.integrity,
          ...(current.mod !== undefined ? { modName: current.mod } : {}),
          ...(current.version !== undefined ? { newerThan: current.version } : {}),
        });
      } catch (err) {
        state.refused.set(key, errorInfo(err));
        throw err;
      }
      const origin: PackageOrigin = { source: "registry", package: target.name, version: entry.version, keyId: verified.keyId, sha256: verified.sha256 };
      const ref = { name: target.name, version: entry.version, sha256: verified.sha256, keyId: verified.keyId, mod: verified.manifest.name, integrity: entry.integrity };
      const live = await this.#host.install(verified, origin);
      if (live) await this.#options.cache?.put(tarball, ref);
      else state.refused.set(key, { code: "E_PACKAGE_INVALID", message: `${target.name}@${entry.version} was verified but did not load (see the swap event)`, mod: verified.manifest.name });
      // The ETag is kept only once the answer has been acted on, so a failure is retried next poll.
      if (answer.etag !== undefined) state.etag = answer.etag;
      return this.#ok(state, { kind: live ? "installed" : "skipped" });
    } catch (err) {
      if (this.#closed && isModhostError(err, "E_REGISTRY_UNAVAILABLE")) return { kind: "skipped" };
      const error = errorInfo(err);
      this.#refuse(target, error, state);
      return { kind: "refused", error };
    }
  }

  #ok(state: Followed, outcome: PollOutcome): PollOutcome {
    delete state.lastError;
    return outcome;
  }

  #refuse(target: FollowTarget, error: ErrorInfo, state?: Followed): void {
    this.#host.failed(target, error);
    // The same failure on every poll is logged once, until something changes.
    const line = `${error.code} ${error.message}`;
    if (state !== undefined && state.lastError === line) return;
    if (state !== undefined) state.lastError = line;
    const level = error.code === "E_REGISTRY_UNAVAILABLE" ? "warn" : "error";
    this.#host.log(level, `registry: ${target.name}@${target.spec}: ${error.code}: ${error.message}; the live version keeps serving`, error.mod);
  }

  /** Stops polling, aborts requests in flight and waits for the poll under way. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#polling?.catch(() => undefined);
    this.#release();
  }
}

function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof ModhostError) return err.toInfo();
  return { code: "E_INTERNAL", message: messageOf(err) };
}

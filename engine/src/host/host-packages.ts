import { join } from "node:path";
import { deploy } from "../deploy/deploy-writer.js";
import { ModhostError } from "../errors/modhost-error.js";
import type { ResolvedOptions } from "./host-options.js";
import type { SwapReport } from "../model/swap-report.js";
import { OriginStore, type ModOrigin } from "../registry/mod-origin.js";
import { PackageCache } from "../registry/package-cache.js";
import { PackageFollower, type FollowTarget, type PackageOrigin } from "../registry/package-follower.js";
import { LISTING_FILE, SIGNATURE_FILE } from "../registry/package-listing.js";
import { verifyPackage, type VerifiedPackage } from "../registry/package-verifier.js";
import { RegistryClient, resolveSpec } from "../registry/registry-client.js";
import semver from "semver";
import { KeyedMutex } from "../util/keyed-mutex.js";

/** What the host gives its package side. */
export interface PackageHostSide {
  /** The host's load(dir): the ordinary pipeline. */
  load(dir: string): Promise<SwapReport>;
  /** The live version of a mod (its manifest version and hash), if it is loaded. */
  live(mod: string): { readonly version: string; readonly hash: string } | undefined;
  log(level: "info" | "warn" | "error", message: string, mod: string): void;
}

/** Counts of the registry side, for metrics. */
export interface RegistryMetrics {
  readonly packumentRequests: number;
  readonly notModified: number;
  readonly tarballDownloads: number;
  readonly retries: number;
  readonly installs: number;
  /** Refused packages and registry failures, by error code. */
  readonly failures: Readonly<Record<string, number>>;
}

/**
 * The host's signed-package side: where each version came from (origins), installing a verified
 * package through the deploy writer and the host's load, and the follower polling the registry.
 * Installs run one at a time. Owned by ModHost; close() stops the follower.
 */
export class HostPackages {
  readonly #options: ResolvedOptions;
  readonly #side: PackageHostSide;
  readonly #origins: OriginStore;
  readonly #pending = new Map<string, ModOrigin>();
  readonly #client: RegistryClient | undefined;
  readonly #follower: PackageFollower | undefined;
  readonly #failures: Record<string, number> = {};
  /** The newest version each followed package has installed: never reinstalled after a rollback. */
  readonly #installed = new Map<string, { mod: string; version: string }>();
  #installs = 0;
  /** Installs write into modsDir one at a time, in the order they were asked for. */
  readonly #writes = new KeyedMutex<"deploy">();
  /** The client for exact-version installs (fleet releases), made on first use. */
  #pullClient: { client: RegistryClient; abort: AbortController } | undefined;

  private constructor(options: ResolvedOptions, side: PackageHostSide, origins: OriginStore) {
    this.#options = options;
    this.#side = side;
    this.#origins = origins;
    const registry = options.registry;
    if (registry !== undefined && registry.url !== undefined && registry.follow.length > 0 && options.trust !== undefined) {
      const abort = new AbortController();
      this.#client = new RegistryClient({ url: registry.url, ...(registry.token !== undefined ? { token: registry.token } : {}), timeoutMs: registry.timeoutMs, signal: abort.signal });
      const cache = options.stateDir !== undefined ? new PackageCache(join(options.stateDir, "packages")) : undefined;
      this.#follower = new PackageFollower({ client: this.#client, trust: options.trust, cache, follow: registry.follow, pollMs: registry.pollMs }, {
        current: (target) => this.#current(target),
        running: (target) => {
          const mod = this.#installed.get(target.name)?.mod;
          return mod === undefined ? undefined : this.#side.live(mod)?.version;
        },
        install: async (pkg, origin) => this.#installFollowed(pkg, origin),
        log: (level, message, mod) => side.log(level, message, mod ?? "<registry>"),
        failed: (_target, error) => {
          this.#failures[error.code] = (this.#failures[error.code] ?? 0) + 1;
        },
      }, abort);
    }
  }

  /** Opens the origin store (stateDir/packages) and, with registry.follow, the follower (not started). */
  static async open(options: ResolvedOptions, side: PackageHostSide): Promise<HostPackages> {
    const origins = await OriginStore.open(options.stateDir !== undefined ? join(options.stateDir, "packages") : undefined);
    const packages = new HostPackages(options, side, origins);
    if (options.stateDir !== undefined && packages.#follower !== undefined) {
      const cache = new PackageCache(join(options.stateDir, "packages"));
      for (const target of options.registry?.follow ?? []) {
        const ref = await cache.ref(target.name).catch(() => undefined);
        if (ref !== undefined) packages.#installed.set(target.name, { mod: ref.mod, version: ref.version });
      }
    }
    return packages;
  }

  /** Installs from the cache what is newer than what runs, then polls (the first poll at once). */
  async start(): Promise<void> {
    if (this.#follower === undefined) return;
    await this.#follower.restoreFromCache();
    this.#follower.start();
  }

  /** Polls every followed package now (tests and `modhost` use it to skip the wait). */
  async pollNow(): Promise<void> {
    await this.#follower?.pollNow();
  }

  /** Where the version `hash` of `mod` (manifest `version`) came from. */
  origin(mod: string, version: string, hash: string, signed?: { package: string; version: string; keyId: string }): ModOrigin {
    const recorded = this.#origins.get(hash);
    if (recorded.source !== "folder" || recorded.package !== undefined) return recorded;
    const pending = this.#pending.get(`${mod}@${version}`);
    if (pending !== undefined) return pending;
    return signed !== undefined ? { source: "folder", ...signed } : recorded;
  }

  /** Records that the live version of `mod` came from `origin` (after a deploy or an install). */
  async noteLive(mod: string, origin: ModOrigin): Promise<void> {
    const live = this.#side.live(mod);
    if (live !== undefined) await this.#origins.record(live.hash, origin);
  }

  /** The registry side's counters. */
  metrics(): RegistryMetrics {
    const c = this.#client?.counters ?? { packumentRequests: 0, notModified: 0, tarballDownloads: 0, retries: 0 };
    return { ...c, installs: this.#installs, failures: { ...this.#failures } };
  }

  /**
   * Verifies a packed tarball against the trusted keys (no downgrade rule: an explicit deploy is
   * the operator's act) and installs it as a deploy. Throws E_TRUST_INVALID when no keys are set,
   * or the verifier's error; a version the pipeline refuses comes back as a report.
   */
  async installTarball(tarball: Uint8Array): Promise<SwapReport> {
    const trust = this.#options.trust;
    if (trust === undefined) throw new ModhostError("E_TRUST_INVALID", "this host has no trusted keys (options.registry.trustedKeys): it cannot verify a package");
    const verified = await verifyPackage(tarball, { trust });
    return this.#install(verified, { source: "deploy", package: verified.listing.package, version: verified.listing.version, keyId: verified.keyId });
  }

  /**
   * Pulls exactly `pkg@version` from the registry, verifies it (integrity, signed listing, key
   * scoped to `mod`, package and mod names; no downgrade rule: a fleet release or rollback is the
   * operator's act) and installs it through the ordinary pipeline. Resolves with the swap report;
   * rejects with the registry's or the verifier's error (nothing is written then).
   */
  async installVersion(mod: string, pkg: string, version: string): Promise<SwapReport> {
    const registry = this.#options.registry;
    const trust = this.#options.trust;
    if (registry?.url === undefined || trust === undefined) throw new ModhostError("E_TRUST_INVALID", "this host has no registry.url and trusted keys: it cannot pull a package", { mod });
    if (this.#pullClient === undefined) {
      const abort = new AbortController();
      this.#pullClient = { abort, client: this.#client ?? new RegistryClient({ url: registry.url, ...(registry.token !== undefined ? { token: registry.token } : {}), timeoutMs: registry.timeoutMs, signal: abort.signal }) };
    }
    const { client } = this.#pullClient;
    const answer = await client.packument(pkg);
    if (answer.status !== "ok") throw new ModhostError("E_REGISTRY_RESPONSE", `the registry answered "not modified" to an unconditional request for ${pkg}`, { mod });
    const entry = resolveSpec(answer.packument, version);
    const tarball = await client.tarball(entry, pkg);
    const verified = await verifyPackage(tarball, { trust, packageName: pkg, version, integrity: entry.integrity, modName: mod });
    // Written into modsDir by the deploy writer: a restart with Redis and the registry down serves it.
    return this.#install(verified, { source: "registry", package: pkg, version, keyId: verified.keyId });
  }

  #current(target: FollowTarget): { mod?: string; version?: string } {
    const installed = this.#installed.get(target.name);
    if (installed === undefined) return {};
    const live = this.#side.live(installed.mod)?.version;
    const version = live !== undefined && semver.valid(live) !== null && semver.gt(live, installed.version) ? live : installed.version;
    return { mod: installed.mod, version };
  }

  async #installFollowed(pkg: VerifiedPackage, origin: PackageOrigin): Promise<boolean> {
    const report = await this.#install(pkg, { source: "registry", package: origin.package, version: origin.version, keyId: origin.keyId });
    const live = report.ok || report.error?.code === "E_APPROVAL_REQUIRED";
    if (live) this.#installed.set(origin.package, { mod: pkg.manifest.name, version: pkg.listing.version });
    this.#side.log(live ? "info" : "error", live
      ? `registry: ${origin.package}@${origin.version} (key ${origin.keyId}, from the ${origin.source}) ${report.ok ? `is live (${report.kind})` : "is held for approval"}`
      : `registry: ${origin.package}@${origin.version} was verified but refused by the pipeline: ${report.error?.code ?? "?"}: ${report.error?.message ?? ""}; the live version keeps serving`, pkg.manifest.name);
    return live;
  }

  async #install(pkg: VerifiedPackage, origin: ModOrigin): Promise<SwapReport> {
    const sources: Record<string, string> = {};
    for (const [path, bytes] of pkg.modFiles) sources[path] = bytes.toString("utf8");
    const own: Record<string, Uint8Array> = {};
    for (const path of ["package.json", LISTING_FILE, SIGNATURE_FILE]) {
      const bytes = pkg.files.get(path);
      if (bytes !== undefined) own[path] = bytes;
    }
    const key = `${pkg.manifest.name}@${pkg.listing.version}`;
    return this.#writes.run("deploy", async () => {
      // Known before the swap, so that mods() never shows the new version without its origin.
      this.#pending.set(key, origin);
      let report: SwapReport;
      try {
        report = (await deploy(this.#options.modsDir, sources, (dir) => this.#side.load(dir), own)).report;
      } catch (err) {
        this.#pending.delete(key);
        throw err;
      }
      if (report.ok) {
        this.#installs++;
        await this.noteLive(pkg.manifest.name, origin);
      }
      if (report.error?.code !== "E_APPROVAL_REQUIRED") this.#pending.delete(key);
      return report;
    });
  }

  /** Stops the follower (aborting requests in flight). Idempotent. */
  async close(): Promise<void> {
    this.#pullClient?.abort.abort();
    await this.#follower?.close();
  }
}

import semver from "semver";
import { ModhostError, isModhostError, messageOf } from "../errors/modhost-error.js";
import { checkIntegrity } from "./package-verifier.js";

/**
 * A small client for the npm registry protocol: the packument (GET /<name>, abbreviated form,
 * with If-None-Match so an unchanged one costs a 304 and no body) and tarballs. Every request has a
 * timeout and a size cap; network errors, timeouts, 429 and 5xx are retried with exponential
 * backoff; the token goes only to the registry's own origin, and tarballs are fetched only from it.
 */

/** How to reach a registry. */
export interface RegistryClientOptions {
  /** The registry's base URL, e.g. http://127.0.0.1:4873/ . */
  readonly url: string;
  /** A bearer token (npm's `_authToken`), sent to the registry's origin only. */
  readonly token?: string;
  /** Per attempt, ms (default 10 000). */
  readonly timeoutMs?: number;
  /** Attempts after the first for retryable failures (default 2). */
  readonly retries?: number;
  /** The first backoff, doubled after each retry (default 200 ms). */
  readonly backoffMs?: number;
  /** Largest packument body (default 8 MiB). */
  readonly maxPackumentBytes?: number;
  /** Largest tarball (default 16 MiB). */
  readonly maxTarballBytes?: number;
  /** Aborts every request in flight (the owner's close()). */
  readonly signal?: AbortSignal;
}

/** One version as the packument gives it. */
export interface PackumentVersion {
  readonly version: string;
  readonly tarball: string;
  readonly integrity: string;
}

/** The parts of a packument modhost uses. */
export interface Packument {
  readonly name: string;
  readonly distTags: Readonly<Record<string, string>>;
  readonly versions: ReadonlyMap<string, PackumentVersion>;
}

/** A packument fetch: changed (with the new ETag) or not modified. */
export type PackumentResult = { readonly status: "not-modified" } | { readonly status: "ok"; readonly packument: Packument; readonly etag?: string };

/** Counts of what the client did, for metrics and tests. */
export interface RegistryCounters {
  packumentRequests: number;
  notModified: number;
  tarballDownloads: number;
  retries: number;
}

const ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

/** The client. Stateless but for its counters; owns no resource beyond requests in flight. */
export class RegistryClient {
  readonly #base: URL;
  readonly #options: RegistryClientOptions;
  readonly counters: RegistryCounters = { packumentRequests: 0, notModified: 0, tarballDownloads: 0, retries: 0 };

  constructor(options: RegistryClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url.endsWith("/") ? options.url : `${options.url}/`);
    } catch {
      throw new ModhostError("E_OPTIONS_INVALID", `registry.url ${JSON.stringify(options.url)} is not a URL`, { field: "registry.url" });
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") throw new ModhostError("E_OPTIONS_INVALID", `registry.url must be http or https, got ${base.protocol}`, { field: "registry.url" });
    this.#base = base;
    this.#options = options;
  }

  /** The packument of `name`; `etag` from the last answer makes an unchanged one a 304. */
  async packument(name: string, etag?: string): Promise<PackumentResult> {
    // npm's path form: a scoped name keeps its @ and escapes the slash.
    const url = new URL(encodeURIComponent(name).replace(/^%40/, "@"), this.#base);
    const headers: Record<string, string> = { accept: ABBREVIATED };
    if (etag !== undefined) {
      headers["if-none-match"] = etag;
      // fetch adds "Cache-Control: no-cache" to a conditional request that has none, and servers
      // (Express's `fresh`, so Verdaccio) then never answer 304: ask for revalidation explicitly.
      headers["cache-control"] = "max-age=0";
    }
    this.counters.packumentRequests++;
    const answer = await this.#request(url, headers, this.#options.maxPackumentBytes ?? 8 * 1024 * 1024, `the packument of ${name}`);
    if (answer.status === 304) {
      this.counters.notModified++;
      return { status: "not-modified" };
    }
    let value: unknown;
    try {
      value = JSON.parse(answer.body.toString("utf8"));
    } catch (err) {
      throw new ModhostError("E_REGISTRY_RESPONSE", `the packument of ${name} is not JSON: ${messageOf(err)}`);
    }
    const packument = parsePackument(value, name);
    const next = answer.etag;
    return next !== undefined ? { status: "ok", packument, etag: next } : { status: "ok", packument };
  }

  /** Downloads a tarball (from the registry's origin only) and checks it against `integrity`. */
  async tarball(version: PackumentVersion, name: string): Promise<Buffer> {
    let url: URL;
    try {
      url = new URL(version.tarball, this.#base);
    } catch {
      throw new ModhostError("E_REGISTRY_RESPONSE", `${name}@${version.version}: dist.tarball ${JSON.stringify(version.tarball)} is not a URL`, { field: "dist.tarball" });
    }
    if (url.origin !== this.#base.origin) {
      throw new ModhostError("E_REGISTRY_RESPONSE", `${name}@${version.version}: dist.tarball points at ${url.origin}, not the registry's origin ${this.#base.origin}`, { field: "dist.tarball" });
    }
    this.counters.tarballDownloads++;
    const answer = await this.#request(url, { accept: "application/octet-stream" }, this.#options.maxTarballBytes ?? 16 * 1024 * 1024, `the tarball of ${name}@${version.version}`);
    if (answer.status === 304) throw new ModhostError("E_REGISTRY_RESPONSE", `the registry answered 304 to a tarball request it was not asked to revalidate`);
    checkIntegrity(answer.body, version.integrity);
    return answer.body;
  }

  async #request(url: URL, headers: Record<string, string>, cap: number, what: string): Promise<{ status: number; body: Buffer; etag?: string }> {
    const retries = this.#options.retries ?? 2;
    let delay = this.#options.backoffMs ?? 200;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(url, headers, cap, what);
      } catch (err) {
        const retryable = isModhostError(err, "E_REGISTRY_UNAVAILABLE") && this.#options.signal?.aborted !== true;
        if (!retryable || attempt >= retries) throw err;
        this.counters.retries++;
        await sleep(delay, this.#options.signal);
        delay *= 2;
      }
    }
  }

  async #once(url: URL, extra: Record<string, string>, cap: number, what: string): Promise<{ status: number; body: Buffer; etag?: string }> {
    const headers: Record<string, string> = { ...extra, "user-agent": "modhost-registry-client" };
    if (this.#options.token !== undefined && url.origin === this.#base.origin) headers.authorization = `Bearer ${this.#options.token}`;
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = this.#options.signal !== undefined ? AbortSignal.any([timeout, this.#options.signal]) : timeout;
    const unavailable = (message: string, cause?: unknown): ModhostError =>
      new ModhostError("E_REGISTRY_UNAVAILABLE", `${what}: ${message} (${url.origin})`, {}, cause !== undefined ? { cause } : undefined);
    let response: Response;
    try {
      response = await fetch(url, { headers, signal, redirect: "error" });
    } catch (err) {
      throw unavailable(timeout.aborted ? `no answer within ${timeoutMs} ms` : `cannot reach the registry: ${causeMessage(err)}`, err);
    }
    try {
      if (response.status === 304) return { status: 304, body: Buffer.alloc(0) };
      if (response.status >= 500 || response.status === 429) throw unavailable(`the registry answered ${response.status}`);
      if (response.status === 404) throw new ModhostError("E_REGISTRY_RESPONSE", `${what}: the registry has no such package or file (404)`);
      if (response.status === 401 || response.status === 403) throw new ModhostError("E_REGISTRY_RESPONSE", `${what}: the registry refused access (${response.status}); check registry.token`);
      if (response.status !== 200) throw new ModhostError("E_REGISTRY_RESPONSE", `${what}: unexpected status ${response.status}`);
      const declared = Number(response.headers.get("content-length") ?? "NaN");
      if (Number.isFinite(declared) && declared > cap) throw new ModhostError("E_REGISTRY_RESPONSE", `${what} is ${declared} bytes, over the ${cap}-byte cap`);
      const body = await readCapped(response, cap, what, () => timeout.aborted, timeoutMs, unavailable);
      const etag = response.headers.get("etag");
      return etag !== null ? { status: 200, body, etag } : { status: 200, body };
    } finally {
      // Release the connection whatever happened (a no-op once the body was read).
      await response.body?.cancel().catch(() => undefined);
    }
  }
}

async function readCapped(response: Response, cap: number, what: string, timedOut: () => boolean, timeoutMs: number, unavailable: (m: string, c?: unknown) => ModhostError): Promise<Buffer> {
  const reader = response.body?.getReader();
  if (reader === undefined) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > cap) throw new ModhostError("E_REGISTRY_RESPONSE", `${what} is over the ${cap}-byte cap`);
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof ModhostError) throw err;
    throw unavailable(timedOut() ? `the body did not arrive within ${timeoutMs} ms` : `the answer was cut off: ${causeMessage(err)}`, err);
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks);
}

function causeMessage(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined ? `${messageOf(err)}: ${messageOf(cause)}` : messageOf(err);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Parses the parts of a packument modhost uses; throws E_REGISTRY_RESPONSE for a malformed one. */
export function parsePackument(value: unknown, name: string): Packument {
  const bad = (message: string, field: string): ModhostError => new ModhostError("E_REGISTRY_RESPONSE", `the packument of ${name} is malformed: ${message}`, { field });
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("not a JSON object", "(top)");
  const v = value as Record<string, unknown>;
  if (v.name !== name) throw bad(`it names ${JSON.stringify(v.name)}`, "name");
  const tags = v["dist-tags"];
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) throw bad(`"dist-tags" must be an object`, "dist-tags");
  const distTags: Record<string, string> = {};
  for (const [tag, target] of Object.entries(tags)) {
    if (typeof target !== "string") throw bad(`dist-tags.${tag} must be a version string`, `dist-tags.${tag}`);
    distTags[tag] = target;
  }
  const versionsValue = v.versions;
  if (typeof versionsValue !== "object" || versionsValue === null || Array.isArray(versionsValue)) throw bad(`"versions" must be an object`, "versions");
  const versions = new Map<string, PackumentVersion>();
  for (const [version, entry] of Object.entries(versionsValue)) {
    // Versions this code cannot use are left out rather than failing the whole packument.
    const dist = (entry as { dist?: { tarball?: unknown; integrity?: unknown } } | null)?.dist;
    if (semver.valid(version) === null || typeof dist?.tarball !== "string" || typeof dist.integrity !== "string") continue;
    versions.set(version, { version, tarball: dist.tarball, integrity: dist.integrity });
  }
  return { name, distTags, versions };
}

/**
 * The version `spec` (a dist-tag or an exact version) names in `packument`; throws
 * E_REGISTRY_RESPONSE when the tag is unknown or names a version the packument does not have.
 */
export function resolveSpec(packument: Packument, spec: string): PackumentVersion {
  const version = semver.valid(spec) !== null ? spec : packument.distTags[spec];
  if (version === undefined) throw new ModhostError("E_REGISTRY_RESPONSE", `${packument.name} has no dist-tag "${spec}" (tags: ${Object.keys(packument.distTags).join(", ") || "none"})`, { field: `dist-tags.${spec}` });
  const entry = packument.versions.get(version);
  if (entry === undefined) throw new ModhostError("E_REGISTRY_RESPONSE", `${packument.name}@${spec} names version ${version}, which the packument does not have (or has without dist.tarball and dist.integrity)`, { field: `versions.${version}` });
  return entry;
}

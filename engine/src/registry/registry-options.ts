import { resolve } from "node:path";
import semver from "semver";
import { ModhostError } from "../errors/modhost-error.js";
import type { FollowTarget } from "./package-follower.js";
import { loadTrustedKeys, parseTrustedKeys, type TrustedKeys } from "./trusted-keys.js";

/** ModHost.create()'s `registry` option: where signed packages come from and which keys to trust. */
export interface RegistryOptions {
  /** The npm registry's URL (needed when `follow` names packages). */
  readonly url?: string;
  /** A bearer token for the registry (npm's _authToken). */
  readonly token?: string;
  /** The trusted keys file's path, or its content as an object (see docs/distribution.md). */
  readonly trustedKeys: string | object;
  /** npm package name -> dist-tag (e.g. "latest", "canary") or exact version to follow. */
  readonly follow?: Readonly<Record<string, string>>;
  /** How often to poll each followed package's packument, ms (default 30 000). */
  readonly pollMs?: number;
  /** Per-request timeout, ms (default 10 000). */
  readonly timeoutMs?: number;
}

/** The registry option after validation (the trusted keys are read at create()). */
export interface ResolvedRegistryOptions {
  readonly url?: string;
  readonly token?: string;
  readonly trustedKeys: { readonly file: string } | { readonly value: object };
  readonly follow: readonly FollowTarget[];
  readonly pollMs: number;
  readonly timeoutMs: number;
}

const KEYS = ["url", "token", "trustedKeys", "follow", "pollMs", "timeoutMs"];
const NPM_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Validates the `registry` option; throws E_OPTIONS_INVALID naming the field (e.g. options.registry.follow.@s/x). */
export function parseRegistryOptions(input: unknown): ResolvedRegistryOptions {
  const fail = (field: string, message: string): never => {
    throw new ModhostError("E_OPTIONS_INVALID", `options.registry${field === "" ? "" : `.${field}`}: ${message}`, { field: `registry${field === "" ? "" : `.${field}`}` });
  };
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail("", "must be an object { url?, token?, trustedKeys, follow?, pollMs?, timeoutMs? }");
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KEYS.includes(key)) fail(key, `unknown setting (allowed: ${KEYS.join(", ")})`);
  let url: string | undefined;
  if (o.url !== undefined) {
    if (typeof o.url !== "string") fail("url", "must be an http(s) URL");
    let parsed: URL | undefined;
    try {
      parsed = new URL(o.url as string);
    } catch {
      fail("url", `${JSON.stringify(o.url)} is not a URL`);
    }
    if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") fail("url", "must be an http or https URL");
    url = o.url as string;
  }
  if (o.token !== undefined && (typeof o.token !== "string" || o.token === "")) fail("token", "must be a non-empty string");
  let trustedKeys: ResolvedRegistryOptions["trustedKeys"];
  if (typeof o.trustedKeys === "string" && o.trustedKeys !== "") trustedKeys = { file: resolve(o.trustedKeys) };
  else if (typeof o.trustedKeys === "object" && o.trustedKeys !== null && !Array.isArray(o.trustedKeys)) trustedKeys = { value: o.trustedKeys };
  else return fail("trustedKeys", "is required: the path of the trusted keys file, or its content { keys: [...] }");
  const follow: FollowTarget[] = [];
  if (o.follow !== undefined) {
    if (typeof o.follow !== "object" || o.follow === null || Array.isArray(o.follow)) fail("follow", `must be an object { "<npm name>": "<dist-tag or version>" }`);
    for (const [name, spec] of Object.entries(o.follow as Record<string, unknown>)) {
      if (!NPM_NAME.test(name)) fail(`follow.${name}`, "is not an npm package name");
      if (typeof spec !== "string" || (semver.valid(spec) === null && !TAG.test(spec))) fail(`follow.${name}`, "must be a dist-tag (e.g. \"latest\") or an exact version");
      follow.push({ name, spec: spec as string });
    }
    if (follow.length > 0 && url === undefined) fail("url", "is required to follow packages");
  }
  const whole = (key: string, fallback: number, min: number): number => {
    const value = o[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) fail(key, `must be a whole number of at least ${min}`);
    return value as number;
  };
  return {
    ...(url !== undefined ? { url } : {}),
    ...(typeof o.token === "string" ? { token: o.token } : {}),
    trustedKeys,
    follow,
    pollMs: whole("pollMs", 30_000, 10),
    timeoutMs: whole("timeoutMs", 10_000, 10),
  };
}

/** Reads (or parses) the trusted keys the option names; throws E_TRUST_INVALID. */
export function loadRegistryTrust(options: ResolvedRegistryOptions): Promise<TrustedKeys> {
  return "file" in options.trustedKeys ? loadTrustedKeys(options.trustedKeys.file) : Promise.resolve(parseTrustedKeys(options.trustedKeys.value, "options.registry.trustedKeys"));
}

import { ModhostError } from "../errors/modhost-error.js";

/**
 * The Redis keys a fleet uses, all under one prefix (default "modhost:fleet:"). Mod names and
 * server ids are checked before they become part of a key, so a key never holds a separator that
 * another name could forge. docs/fleet.md lists them.
 */
export interface FleetKeys {
  /** Hash { epoch, record }: the release state of one mod (compare-and-set by epoch). */
  release(mod: string): string;
  /** Set of every mod that ever had a release. */
  readonly mods: string;
  /** Stream { mod, epoch }: one entry per release state change; servers XREAD it. */
  readonly channel: string;
  /** Stream { mod, epoch, entry }: every decision with the figures that caused it. */
  readonly audit: string;
  /** String: the controller lease of one mod (its owner id), with an expiry. */
  lease(mod: string): string;
  /** String: one server's heartbeat (JSON), with an expiry. */
  server(id: string): string;
  /** Sorted set: server id -> last heartbeat (ms), to list servers (expired ones are skipped). */
  readonly servers: string;
  /** Hash "<server>|<version>|<counter>" -> count, per release of a mod. */
  health(mod: string, releaseId: string): string;
  /** Hash server -> JSON { version, code, message }: servers that refused the release's version. */
  refusals(mod: string, releaseId: string): string;
}

const MOD = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PREFIX = /^[A-Za-z0-9:._-]{1,64}$/;

/** True when `name` is a valid mod name (the manifest's rule). */
export function isModName(name: unknown): name is string {
  return typeof name === "string" && MOD.test(name);
}

/** True when `id` is a valid server id, group or release id: 1-64 letters, digits, ".", "_", "-". */
export function isFleetId(id: unknown): id is string {
  return typeof id === "string" && ID.test(id);
}

/** Throws E_OPTIONS_INVALID unless `id` is a valid server id / group (`field` names the option). */
export function checkFleetId(id: unknown, field: string): string {
  if (!isFleetId(id)) throw new ModhostError("E_OPTIONS_INVALID", `${field} must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit; got ${JSON.stringify(id)}`, { field });
  return id;
}

/** The keys under `prefix`. */
export function fleetKeys(prefix = "modhost:fleet:"): FleetKeys {
  if (!PREFIX.test(prefix)) throw new ModhostError("E_OPTIONS_INVALID", `the fleet key prefix must be 1-64 letters, digits, ":", ".", "_" or "-"; got ${JSON.stringify(prefix)}`, { field: "fleet.prefix" });
  const mod = (name: string): string => {
    if (!isModName(name)) throw new ModhostError("E_FLEET_DATA", `${JSON.stringify(name)} is not a mod name`);
    return name;
  };
  const id = (name: string): string => {
    if (!isFleetId(name)) throw new ModhostError("E_FLEET_DATA", `${JSON.stringify(name)} is not a server or release id`);
    return name;
  };
  return {
    release: (m) => `${prefix}release:${mod(m)}`,
    mods: `${prefix}mods`,
    channel: `${prefix}channel`,
    audit: `${prefix}audit`,
    lease: (m) => `${prefix}lease:${mod(m)}`,
    server: (s) => `${prefix}server:${id(s)}`,
    servers: `${prefix}servers`,
    health: (m, r) => `${prefix}health:${mod(m)}:${id(r)}`,
    refusals: (m, r) => `${prefix}refusals:${mod(m)}:${id(r)}`,
  };
}

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import semver from "semver";
import { messageOf } from "../errors/modhost-error.js";
import { FleetController, type ControllerEvent } from "../fleet/fleet-controller.js";
import { isFleetId, isModName } from "../fleet/fleet-keys.js";
import { connectFleet, redact, type FleetConnection } from "../fleet/fleet-redis.js";
import { FleetStore } from "../fleet/fleet-store.js";
import type { ReleasePolicy, ReleaseRecord } from "../fleet/release-record.js";
import { cohortPlace } from "../fleet/cohort.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput, type CliOutput } from "./cli-output.js";
import { EXIT_CODES } from "./exit-codes.js";
import { shutdownSignal } from "./shutdown-signal.js";

const COMMON = {
  fleet: { type: "string" },
  json: { type: "boolean" },
} as const;

const RELEASE_FLAGS = {
  ...COMMON,
  steps: { type: "string" },
  interval: { type: "string" },
  "max-error-rate": { type: "string" },
  "min-events": { type: "string" },
  "failure-limit": { type: "string" },
  deadline: { type: "string" },
  group: { type: "string" },
  package: { type: "string" },
  detach: { type: "boolean" },
} as const;

/** Help for `modhost release --help`. */
export const RELEASE_HELP = [
  "Starts a fleet rollout of <mod>@<version> (a signed package on the servers' registry) and follows it:",
  "one line per decision; exit 0 when promoted to 100 %, 1 when aborted (with why). docs/fleet.md",
  "Options:",
  "  --fleet <redis url>        the fleet's Redis (or MODHOST_FLEET)",
  "  --steps 5,25,50,100        canary percentages (default 5,25,50,100)",
  "  --interval 60s             analysis window (ms, s or m; default 60s)",
  "  --max-error-rate 0.05      a window above this error rate fails (default 0.05)",
  "  --min-events 200           fewer canary events in a window is inconclusive (default 200)",
  "  --failure-limit 2          failed windows that abort (default 2)",
  "  --deadline 10m             an inconclusive step aborts after this (default 10 windows)",
  "  --group <group>            only servers of this group take part",
  "  --package <npm name>       the package carrying the mod (default: the last release's, else the mod name)",
  "  --detach                   start it and return: a server takes its lease and drives it (or `modhost fleet resume <mod>`)",
  "  --json                     JSON lines instead of text",
].join("\n");

/** Help for `modhost fleet --help`. */
export const FLEET_HELP = [
  "  modhost fleet status [mod] --fleet <url>      every mod's stable/canary, percentage, phase, servers, history",
  "  modhost fleet promote|pause|abort <mod>       operator commands (epoch-fenced: a race gets E_FLEET_CONFLICT)",
  "  modhost fleet resume <mod>                    resume a paused release, or drive one whose controller died",
  "  modhost fleet rollback <mod> [--to <version>] a new release of the older version, promoted at once",
].join("\n");

function fleetUrl(command: string, value: string | undefined): string {
  const url = value ?? process.env.MODHOST_FLEET;
  if (url === undefined || url === "") throw usageError(`modhost ${command}: --fleet <redis url> is required (or MODHOST_FLEET)`);
  if (!/^rediss?:\/\//.test(url)) throw usageError(`modhost ${command}: --fleet must be a redis:// or rediss:// URL`);
  return url;
}

/** Parses "60s", "1500ms", "2m" or a plain number of ms. */
export function parseDuration(command: string, flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
  if (m === null) throw usageError(`modhost ${command}: --${flag} must be a duration like 60s, 1500ms or 2m, got ${JSON.stringify(value)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 10) throw usageError(`modhost ${command}: --${flag} must be at least 10 ms`);
  return ms;
}

async function open(command: string, url: string, out: CliOutput): Promise<{ connection: FleetConnection; store: FleetStore }> {
  const connection = connectFleet(url, { maxBackoffMs: 1000 });
  for (let i = 0; i < 50 && !connection.ready; i++) await new Promise((r) => setTimeout(r, 100));
  if (!connection.ready) {
    await connection.close();
    out.note(`modhost ${command}: E_FLEET_UNAVAILABLE: Redis at ${redact(url)} cannot be reached`);
    throw Object.assign(new Error("unreachable"), { exitCode: EXIT_CODES.unavailable });
  }
  return { connection, store: new FleetStore(connection) };
}

function owner(): string {
  return `cli.${hostname().replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 30)}.${process.pid}.${randomBytes(3).toString("hex")}`;
}

function describe(record: ReleaseRecord): string {
  return `${record.mod} ${record.releaseId}: ${record.canary} ${record.phase} at ${record.percent} % (stable ${record.stable ?? "none"}, failures ${record.failures}/${record.policy.failureLimit})`;
}

function printer(out: CliOutput): (event: ControllerEvent) => void {
  return (event) => {
    if (out.json) {
      out.data(event.kind === "transition" ? { type: "transition", action: event.transition.action, record: event.transition.record, figures: event.transition.figures } : event.kind === "window" ? { type: "window", verdict: event.verdict } : { type: "conflict", message: event.message });
      return;
    }
    const t = new Date().toISOString().slice(11, 19);
    if (event.kind === "window") out.line(`${t}  window ${event.verdict.verdict}: ${event.verdict.why}`);
    else if (event.kind === "conflict") out.line(`${t}  ${event.message}; reading the release again`);
    else out.line(`${t}  ${event.transition.action.padEnd(13)} ${event.transition.record.percent} %  ${event.transition.record.reason}`);
  };
}

async function drive(controller: FleetController, mod: string, out: CliOutput): Promise<number> {
  const signal = shutdownSignal();
  const abort = new AbortController();
  void signal.received.then(() => abort.abort());
  try {
    const final = await controller.drive(mod, abort.signal);
    if (abort.signal.aborted && (final.phase === "rolling" || final.phase === "paused")) {
      out.note(`stopped following; the release goes on where it is (${describe(final)}): resume it with modhost fleet resume ${mod}`);
      return EXIT_CODES.failed;
    }
    if (out.json) out.data({ type: "final", record: final });
    else out.line(describe(final));
    return final.phase === "promoted" ? EXIT_CODES.ok : EXIT_CODES.failed;
  } finally {
    signal.dispose();
  }
}

/** `modhost release <mod>@<version> --fleet <url> [...]`. */
export async function releaseCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("release", args, RELEASE_FLAGS, { min: 1, max: 1, names: "<mod>@<version>" });
  const spec = positionals[0] as string;
  const at = spec.lastIndexOf("@");
  const mod = spec.slice(0, at);
  const version = spec.slice(at + 1);
  if (at <= 0 || !isModName(mod) || semver.valid(version) !== version) throw usageError(`modhost release: expected <mod>@<version> (e.g. arena@1.4.0), got ${JSON.stringify(spec)}`);
  const num = (flag: string, value: string | undefined, fallback: number, min: number, max: number, whole: boolean): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) throw usageError(`modhost release: --${flag} must be ${whole ? "a whole number" : "a number"} from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
  const steps = (values.steps ?? "5,25,50,100").split(",").map((s) => Number(s.trim()));
  if (steps.some((s, i) => !Number.isInteger(s) || s < 1 || s > 100 || (i > 0 && s <= (steps[i - 1] as number)))) throw usageError(`modhost release: --steps must be increasing whole percentages from 1 to 100, got ${JSON.stringify(values.steps)}`);
  const intervalMs = values.interval === undefined ? 60_000 : parseDuration("release", "interval", values.interval);
  const policy: ReleasePolicy = {
    steps,
    intervalMs,
    maxErrorRate: num("max-error-rate", values["max-error-rate"], 0.05, 0, 1, false),
    minEvents: num("min-events", values["min-events"], 200, 0, 1e9, true),
    failureLimit: num("failure-limit", values["failure-limit"], 2, 1, 1000, true),
    deadlineMs: values.deadline === undefined ? intervalMs * 10 : parseDuration("release", "deadline", values.deadline),
  };
  if (values.group !== undefined && !isFleetId(values.group)) throw usageError(`modhost release: --group must be 1-64 letters, digits, ".", "_" or "-"`);
  const out = cliOutput(values.json === true);
  const url = fleetUrl("release", values.fleet);
  let opened;
  try {
    opened = await open("release", url, out);
  } catch (err) {
    return (err as { exitCode?: number }).exitCode ?? EXIT_CODES.failed;
  }
  const { connection, store } = opened;
  try {
    const controller = new FleetController({ store, owner: owner(), onEvent: printer(out) });
    const previous = await store.release(mod);
    const releaseId = `r${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
    await controller.start({ mod, package: values.package ?? previous?.package ?? mod, version, releaseId, group: values.group ?? null, policy, by: "operator", now: Date.now() });
    if (values.detach === true) return EXIT_CODES.ok;
    return await drive(controller, mod, out);
  } finally {
    await connection.close();
  }
}

/** `modhost fleet status|promote|pause|resume|abort|rollback`. */
export async function fleetCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("fleet", args, { ...COMMON, to: { type: "string" }, history: { type: "string" } }, { min: 1, max: 2, names: "a subcommand (status, promote, pause, resume, abort, rollback)" });
  const [sub, mod] = positionals as [string, string | undefined];
  const actions = ["status", "promote", "pause", "resume", "abort", "rollback"];
  if (!actions.includes(sub)) throw usageError(`modhost fleet: unknown subcommand ${JSON.stringify(sub)} (${actions.join(", ")})`);
  if (sub !== "status" && (mod === undefined || !isModName(mod))) throw usageError(`modhost fleet ${sub}: which mod? (modhost fleet ${sub} <mod>)`);
  if (values.to !== undefined && (sub !== "rollback" || semver.valid(values.to) !== values.to)) throw usageError("modhost fleet: --to <version> goes with rollback, and must be an exact version");
  const out = cliOutput(values.json === true);
  const url = fleetUrl("fleet", values.fleet);
  let opened;
  try {
    opened = await open("fleet", url, out);
  } catch (err) {
    return (err as { exitCode?: number }).exitCode ?? EXIT_CODES.failed;
  }
  const { connection, store } = opened;
  try {
    const controller = new FleetController({ store, owner: owner(), onEvent: printer(out) });
    switch (sub) {
      case "status":
        return await status(store, mod, out, Number(values.history ?? 10));
      case "rollback":
        await controller.rollback(mod as string, values.to, `b${Date.now().toString(36)}${randomBytes(2).toString("hex")}`);
        return EXIT_CODES.ok;
      case "resume": {
        const record = await store.release(mod as string);
        if (record?.phase === "paused") await controller.command(mod as string, "resume");
        return await drive(controller, mod as string, out);
      }
      default:
        await controller.command(mod as string, sub as "promote" | "pause" | "abort");
        return EXIT_CODES.ok;
    }
  } finally {
    await connection.close();
  }
}

async function status(store: FleetStore, only: string | undefined, out: CliOutput, history: number): Promise<number> {
  const mods = only !== undefined ? [only] : await store.mods();
  const beats = await store.heartbeats();
  const expired = (await store.expired(beats)).slice(0, 100).map((e) => ({ ...e, ageMs: Date.now() - e.lastSeen }));
  const rows: unknown[] = [];
  for (const mod of mods) {
    let record: ReleaseRecord | undefined;
    let problem: string | undefined;
    try {
      record = await store.release(mod);
    } catch (err) {
      problem = messageOf(err);
    }
    const servers = beats.filter((b) => b.mods[mod] !== undefined).map((b) => ({ server: b.server, group: b.group, version: b.mods[mod], ageMs: Date.now() - b.at, cohort: record !== undefined && (record.pinned.includes(b.server) || cohortPlace(b.server, mod, record.releaseId) < record.percent) }));
    const health = record !== undefined ? await store.health(mod, record.releaseId) : new Map();
    const audit = await store.audit(history, mod);
    const healthRows = [...health].flatMap(([server, versions]) => [...versions].map(([version, c]) => ({ server, version, ...c })));
    const driver = await store.leaseHolder(mod);
    rows.push({ mod, record, problem, driver: driver ?? null, servers, health: healthRows, history: audit });
    if (out.json) continue;
    const s = out.style;
    out.line(s.bold(mod));
    if (problem !== undefined) out.line(`  ${s.red(`E_FLEET_DATA: ${problem}`)}`);
    if (record !== undefined) out.line(`  stable ${record.stable ?? "none"}  canary ${record.canary}  ${record.percent} %  ${record.phase}  (${record.releaseId}, epoch ${record.epoch}, by ${record.by}${driver !== undefined ? `, driven by ${driver}` : ""})\n  ${s.gray(record.reason)}`);
    for (const sv of servers) {
      const h = healthRows.filter((r) => r.server === sv.server && r.version === sv.version)[0];
      out.line(`  ${sv.server.padEnd(16)} ${String(sv.version).padEnd(10)} ${sv.cohort ? "canary" : "      "} ${h !== undefined ? `${h.events} events, ${h.errors} errors, ${h.limits} limit hits, ${h.faults} faults` : ""}`);
    }
    for (const a of audit) out.line(`  ${s.gray(new Date(Number(a.entry.at ?? 0)).toISOString().slice(11, 19))} ${String(a.entry.action).padEnd(13)} ${String(a.entry.reason ?? "")}`);
  }
  if (out.json) out.data({ mods: rows, servers: beats, expired });
  else for (const e of expired.slice(0, 20)) out.line(`${out.style.gray(`expired ${e.server.padEnd(16)} last heartbeat ${Math.round(e.ageMs / 1000)} s ago: not counted as healthy`)}`);
  return EXIT_CODES.ok;
}

import { stat } from "node:fs/promises";
import { hostname as machineName } from "node:os";
import { resolve } from "node:path";
import { AdminServer } from "../admin/admin-server.js";
import { ADMIN_PATH, METRICS_PATH } from "../admin/protocol.js";
import { isLoopback } from "../admin/request-guard.js";
import { ModhostError, messageOf } from "../errors/modhost-error.js";
import { ModHost, type LogEvent } from "../host/mod-host.js";
import type { ModHostOptions } from "../host/host-options.js";
import { parseCommandArgs, parsePort, usageError } from "./cli-args.js";
import { cliOutput, type CliOutput } from "./cli-output.js";
import { CapabilityStubs, formatStubCall } from "./capability-stubs.js";
import { EXIT_CODES } from "./exit-codes.js";
import { findProjectConfig, readProjectConfig, CONFIG_FILE, type ProjectConfig } from "./project-config.js";
import { formatFault, formatLogLine, formatMods, formatReport } from "./report-format.js";
import { shutdownSignal } from "./shutdown-signal.js";
import type { Style } from "./terminal-style.js";
import { readOrCreateToken } from "./token-file.js";

const FLAGS = {
  state: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  "token-file": { type: "string" },
  watch: { type: "boolean" },
  isolation: { type: "string" },
  types: { type: "string", multiple: true },
  json: { type: "boolean" },
  registry: { type: "string" },
  trust: { type: "string" },
  follow: { type: "string", multiple: true },
  poll: { type: "string" },
  "require-signed": { type: "boolean" },
  config: { type: "string" },
  fleet: { type: "string" },
  "server-id": { type: "string" },
  "fleet-group": { type: "string" },
} as const;

/** Help for `modhost serve --help`. */
export const SERVE_HELP = [
  "Options:",
  "  --state <dir>          keep checkpoints and the journal there (state survives restarts)",
  "  --port <n>             port to listen on (default 0: any free port, printed)",
  "  --host <addr>          address to listen on (default 127.0.0.1; anything else exposes the admin channel)",
  "  --token-file <f>       admin token file; generated (mode 0600) if missing (default <modsDir>/.modhost-token)",
  "  --watch                reload mods when their files change",
  "  --isolation <mode>     process (default: isolates in a supervised child process) or inline",
  "  --types <file.d.ts>    the game's declarations mods are type-checked against (repeatable)",
  `  --config <file>        the project file (default: ${CONFIG_FILE} in the mods folder or beside it): capabilities offered (stubs), grants, types, limits`,
  "  --json                 print JSON lines: first { type: \"listening\", ... }, then swap/fault/log events",
  "",
  "Signed packages (docs/distribution.md):",
  "  --trust <keys.json>    the trusted keys file: which public keys may sign which mods",
  "  --registry <url>       an npm registry to follow packages on (token: MODHOST_REGISTRY_TOKEN)",
  "  --follow <name>@<tag>  follow a package's dist-tag or exact version (repeatable; default tag latest)",
  "  --poll <ms>            how often to poll the registry (default 30000)",
  "  --require-signed       refuse unsigned code from the mods folder, the watcher and deploys (E_UNSIGNED)",
  "",
  "Fleet releases (docs/fleet.md; needs --registry and --trust):",
  "  --fleet <redis url>    join a fleet: follow its releases and report health",
  "  --server-id <id>       this server's id in the fleet (default: the host name)",
  "  --fleet-group <group>  this server's group (region, shard set)",
].join("\n");

/**
 * `modhost serve <modsDir>`: a standalone host with the admin channel and /metrics. Prints where
 * it listens and where the token is, then every swap, fault and log line; shuts down cleanly on
 * SIGINT/SIGTERM (admin connections closed with 1001, then the host closed, which checkpoints).
 */
export async function serveCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("serve", args, FLAGS, { min: 1, max: 1, names: "the mods folder to serve" });
  const out = cliOutput(values.json === true);
  const modsDir = resolve(positionals[0] as string);
  await checkModsDir(modsDir, positionals[0] as string);
  const port = values.port === undefined ? 0 : parsePort("serve", values.port);
  const hostname = values.host ?? "127.0.0.1";
  const isolation = values.isolation;
  if (isolation !== undefined && isolation !== "process" && isolation !== "inline") throw usageError(`modhost serve: --isolation must be "process" or "inline", got ${JSON.stringify(isolation)}`);
  // isolated-vm's README asks for the flag on every Node from 20 on (5.x, 6.x and 7.x alike).
  if (isolation === "inline" && !process.execArgv.includes("--no-node-snapshot")) {
    throw usageError(`modhost serve: --isolation inline runs isolated-vm in this process, which needs node --no-node-snapshot: run node --no-node-snapshot ${process.argv[1] ?? "modhost"} serve ... (or leave the default, --isolation process)`);
  }
  const configFile = values.config !== undefined ? resolve(values.config) : await findProjectConfig(modsDir, 1);
  const config = configFile !== undefined ? await readProjectConfig(configFile) : undefined;
  const tokenFile = resolve(values["token-file"] ?? `${modsDir}/.modhost-token`);
  const token = await readOrCreateToken(tokenFile);
  if (token.readableByOthers) out.note(out.errStyle.yellow(`warning: ${tokenFile} can be read by other users (chmod 600 it)`));
  if (!isLoopback(hostname)) out.note(out.errStyle.yellow(`warning: listening on ${hostname}: the admin channel is reachable from the network (the token is all that protects it)`));

  const signal = shutdownSignal();
  let exitCode: number = EXIT_CODES.ok;
  let host: ModHost | undefined;
  let admin: AdminServer | undefined;
  let stubs: CapabilityStubs | undefined;
  try {
    const types = [...(config?.types ?? []), ...(values.types ?? []).map((t) => resolve(t))];
    stubs = config !== undefined ? stubsFor(config, out) : undefined;
    const options: ModHostOptions = {
      modsDir,
      ...(values.state !== undefined ? { stateDir: resolve(values.state) } : {}),
      ...(values.watch === true ? { watch: true } : {}),
      ...(isolation !== undefined ? { isolation } : {}),
      ...(types.length > 0 ? { modTypes: types } : {}),
      ...(config !== undefined && stubs !== undefined ? projectOptions(stubs, config) : {}),
      ...registryOptions(values),
      ...(values.fleet !== undefined ? { fleet: { redis: values.fleet, server: values["server-id"] ?? machineName().replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64), ...(values["fleet-group"] !== undefined ? { group: values["fleet-group"] } : {}) } } : {}),
    };
    if (values.fleet === undefined && (values["server-id"] !== undefined || values["fleet-group"] !== undefined)) throw usageError("modhost serve: --server-id and --fleet-group go with --fleet <redis url>");
    host = await ModHost.create(options);
    printEvents(host, out);
    admin = await AdminServer.create({ host, token: token.token, modsDir, hostname, port, onProblem: (message) => out.note(out.errStyle.yellow(message)) });
    const base = admin.url;
    const wsUrl = `${base.replace(/^http/, "ws")}${ADMIN_PATH}`;
    if (out.json) {
      out.data({ type: "listening", url: base, admin: wsUrl, metrics: `${base}${METRICS_PATH}`, tokenFile, tokenCreated: token.created, pid: process.pid, ...(configFile !== undefined ? { config: configFile } : {}), mods: host.mods() });
    } else {
      const s = out.style;
      out.line(`${s.bold("modhost")} serving ${host.mods().length} mod(s) from ${modsDir}`);
      out.line(`  ${s.gray("url")}      ${s.cyan(base)}`);
      out.line(`  ${s.gray("admin")}    ${wsUrl}`);
      out.line(`  ${s.gray("metrics")}  ${base}${METRICS_PATH}  (Authorization: Bearer <token>)`);
      out.line(`  ${s.gray("token")}    ${tokenFile}${token.created ? " (new)" : ""}`);
      out.line(`  ${s.gray("config")}   ${configFile ?? `none (${CONFIG_FILE} beside the mods folder offers capabilities and grants)`}`);
      out.line(`  ${s.gray("try")}      modhost status --server ${base} --token-file ${tokenFile}`);
      out.line("");
      out.line(formatMods(host.mods(), s));
    }
    const received = await signal.received;
    out.note(`${stamp(out.errStyle)}${received}: shutting down`);
    const counts = Object.entries(stubs?.counts() ?? {});
    if (counts.length > 0) out.note(out.errStyle.gray(`stub calls: ${counts.map(([permission, n]) => `${permission} ${n}`).join(", ")}`));
  } finally {
    signal.dispose();
    const errors: unknown[] = [];
    await admin?.close().catch((err: unknown) => errors.push(err));
    await host?.close().catch((err: unknown) => errors.push(err));
    for (const err of errors) out.note(out.errStyle.red(`while shutting down: ${messageOf(err)}`));
    if (errors.length > 0) exitCode = EXIT_CODES.failed;
  }
  return exitCode;
}

/** `HH:MM:SS.mmm ` in gray: every line serve prints about what happens says when. */
function stamp(style: Style): string {
  return `${style.gray(new Date().toISOString().slice(11, 23))} `;
}

/** E_MODS_DIR unless `modsDir` is a folder: serve never creates it (a typo would serve nothing). */
async function checkModsDir(modsDir: string, shown: string): Promise<void> {
  const info = await stat(modsDir).catch((err: NodeJS.ErrnoException) => {
    throw new ModhostError("E_MODS_DIR", err.code === "ENOENT" ? `modhost serve: there is no folder ${shown} (${modsDir}); give the folder that holds your mods (modhost init <dir> makes one)` : `modhost serve: cannot read ${modsDir}: ${err.message}`, { field: "modsDir" });
  });
  if (!info.isDirectory()) throw new ModhostError("E_MODS_DIR", `modhost serve: ${modsDir} is not a folder; give the folder that holds your mods`, { field: "modsDir" });
}

/** The host options a project file gives: stubbed capabilities (each call printed), grants, limits. */
function projectOptions(stubs: CapabilityStubs, config: ProjectConfig): Pick<ModHostOptions, "capabilities" | "grants" | "limits"> {
  return { capabilities: stubs.functions(), grants: config.grants, limits: config.limits };
}

/** The project file's capabilities as stubs whose calls serve prints as they happen. */
function stubsFor(config: ProjectConfig, out: CliOutput): CapabilityStubs {
  return new CapabilityStubs(config.capabilities, (call) => {
    if (out.json) out.data({ type: "capability", data: call });
    else out.line(`${stamp(out.style)}${out.style.cyan("stub")} ${formatStubCall(call)}`);
  });
}

/** Prints every swap, fault and log line of the host as it happens. */
function printEvents(host: ModHost, out: CliOutput): void {
  let seq = 0;
  host.on("swap", (report) => {
    if (out.json) out.data({ type: "swap", data: report });
    else out.line(`${stamp(out.style)}${formatReport(report, out.style)}`);
  });
  host.on("fault", (fault) => {
    if (out.json) out.data({ type: "fault", data: fault });
    else out.line(`${stamp(out.style)}${formatFault(fault, out.style)}`);
  });
  host.on("log", (line: LogEvent) => {
    const numbered = { ...line, seq: ++seq, time: Date.now() };
    if (out.json) out.data({ type: "log", data: numbered });
    else out.line(formatLogLine(numbered, out.style));
  });
}

/** The registry and requireSigned options from serve's flags. */
function registryOptions(values: { registry?: string; trust?: string; follow?: string[]; poll?: string; "require-signed"?: boolean }): Pick<ModHostOptions, "registry" | "requireSigned"> {
  const following = values.follow ?? [];
  if (values.trust === undefined) {
    if (values.registry !== undefined || following.length > 0 || values["require-signed"] === true) throw usageError("modhost serve: --registry, --follow and --require-signed need --trust <trusted keys file>");
    return {};
  }
  if (following.length > 0 && values.registry === undefined) throw usageError("modhost serve: --follow needs --registry <url>");
  const follow: Record<string, string> = {};
  for (const spec of following) {
    const at = spec.lastIndexOf("@");
    const [name, tag] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, "latest"];
    if (name === "" || tag === "") throw usageError(`modhost serve: --follow ${JSON.stringify(spec)}: expected <npm name>@<dist-tag or version>`);
    follow[name] = tag;
  }
  let pollMs: number | undefined;
  if (values.poll !== undefined) {
    pollMs = Number(values.poll);
    if (!Number.isInteger(pollMs) || pollMs < 10) throw usageError(`modhost serve: --poll must be a whole number of milliseconds (at least 10), got ${JSON.stringify(values.poll)}`);
  }
  const token = process.env.MODHOST_REGISTRY_TOKEN;
  return {
    registry: {
      trustedKeys: resolve(values.trust),
      ...(values.registry !== undefined ? { url: values.registry } : {}),
      ...(token !== undefined && token !== "" ? { token } : {}),
      ...(following.length > 0 ? { follow } : {}),
      ...(pollMs !== undefined ? { pollMs } : {}),
    },
    ...(values["require-signed"] === true ? { requireSigned: true } : {}),
  };
}

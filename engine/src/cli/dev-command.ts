import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AdminClient } from "../admin/admin-client.js";
import { AdminServer } from "../admin/admin-server.js";
import { generateToken } from "../admin/admin-token.js";
import { readDeployFiles } from "../deploy/deploy-files.js";
import { isModhostError, messageOf, type ErrorInfo } from "../errors/modhost-error.js";
import { ModHost } from "../host/mod-host.js";
import { parseManifest } from "../manifest/mod-manifest.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput, type CliOutput } from "./cli-output.js";
import { codeFrame } from "./code-frame.js";
import { EXIT_CODES } from "./exit-codes.js";
import { ModFolderWatch } from "./mod-folder-watch.js";
import { DevPushMemory } from "./dev-push-memory.js";
import { formatErrorLine, formatFault, formatLogLine, formatReport } from "./report-format.js";
import { connectToServer, SERVER_FLAGS, whoAmI } from "./server-connection.js";
import { CapabilityStubs, formatStubCall } from "./capability-stubs.js";
import { emitAction, parsePayload } from "./console-actions.js";
import { CONFIG_FILE, findProjectConfig, readProjectConfig, type DevEmit, type ProjectConfig } from "./project-config.js";
import { describeClose, reconnect } from "./reconnect.js";
import { shutdownSignal } from "./shutdown-signal.js";

const FLAGS = { ...SERVER_FLAGS, types: { type: "string", multiple: true }, config: { type: "string" }, emit: { type: "string" }, payload: { type: "string" } } as const;

/** Help for `modhost dev --help`. */
export const DEV_HELP = [
  "Options:",
  "  --server <url>         push to this running server (see modhost serve); without it, a local host is started",
  "  --token-file <f>       the server's admin token (default: $MODHOST_TOKEN)",
  "  --types <file.d.ts>    for the local host: the game's declarations (repeatable)",
  `  --config <file>        the project file (default: ${CONFIG_FILE} in the mod's folder or up to two folders up):`,
  "                         the local host offers its capabilities (stubs), grants and types; its dev.emit is sent after every swap",
  "  --emit <event>         send this event after every swap and print the answers (overrides dev.emit)",
  "  --payload <json>       the payload of --emit (default null)",
  "  --json                 print JSON lines: { type: \"report\" | \"error\" | \"log\" | \"fault\" | \"rollback\", ... }",
].join("\n");

/** Quiet time after the last save of a burst before deploying it. */
const DEBOUNCE_MS = 50;

/** A local host for `dev` without --server: a temp modsDir, the host, and its admin server. */
interface LocalServer {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

/**
 * `modhost dev <modDir>`: deploys the mod, then watches its folder and deploys every save, printing
 * each swap report as it comes (what changed, pause and total time, or the refusal with file:line
 * and a code frame), the mod's log lines and faults, and automatic rollbacks. Against --server it
 * pushes to a running server; otherwise it starts a local host (in a temp folder) and pushes there,
 * through the very same deploy path. Runs until SIGINT/SIGTERM.
 */
export async function devCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("dev", args, FLAGS, { min: 1, max: 1, names: "the mod folder to develop" });
  const out = cliOutput(values.json === true);
  const dir = resolve(positionals[0] as string);
  const shown = positionals[0] as string;
  const manifestText = await readFile(join(dir, "mod.json"), "utf8").catch((err: unknown) => {
    throw usageError(`modhost dev: ${shown} is not a mod folder: cannot read its mod.json (${messageOf(err)})`);
  });
  const parsedManifest = parseManifest(manifestText);
  const modName = parsedManifest.ok ? parsedManifest.manifest.name : undefined;
  const configFile = values.config !== undefined ? resolve(values.config) : await findProjectConfig(dir, 2);
  const config = configFile !== undefined ? await readProjectConfig(configFile) : undefined;
  const afterSwap: DevEmit | undefined = values.emit !== undefined ? { event: values.emit, payload: parsePayload("dev", values.payload) } : config?.devEmit;

  const signal = shutdownSignal();
  const stopped = signal.received.then(() => "signal" as const);
  let local: LocalServer | undefined;
  let client: AdminClient | undefined;
  let watch: ModFolderWatch | undefined;
  try {
    if (configFile !== undefined) out.note(out.errStyle.gray(`modhost dev: project file ${configFile}`));
    if (values.server === undefined && process.env.MODHOST_SERVER === undefined) {
      local = await startLocalServer([...(config?.types ?? []), ...(values.types ?? []).map((t) => resolve(t))], config, out);
      client = await AdminClient.connect(local.url, local.token);
      out.note(out.errStyle.gray(`modhost dev: local host at ${local.url}; watching ${shown}`));
    } else {
      client = await connectToServer("dev", values);
      out.note(out.errStyle.gray(`modhost dev: pushing ${shown} to ${values.server ?? process.env.MODHOST_SERVER}`));
    }
    const attach = async (connection: AdminClient): Promise<void> => {
    connection.onEvent((event) => {
      if (event.stream === "log") {
        if (out.json) out.data({ type: "log", data: event.data });
        else out.line(formatLogLine(event.data, out.style));
      } else if (event.stream === "fault") {
        if (out.json) out.data({ type: "fault", data: event.data });
        else out.line(formatFault(event.data, out.style));
      } else if (event.data.kind === "rollback") {
        // Our own deploys' reports come back as answers; the stream adds automatic rollbacks.
        if (out.json) out.data({ type: "rollback", data: event.data });
        else out.line(formatReport(event.data, out.style));
      }
    });
    await connection.request("subscribe", { streams: ["log", "fault", "swap"], ...(modName !== undefined ? { mod: modName } : {}) });
    };
    await attach(client);

    const memory = new DevPushMemory();
    const deployer = new SerialDeployer(() => deployOnce(client, dir, shown, out, afterSwap, memory));
    watch = await ModFolderWatch.create(dir, DEBOUNCE_MS, () => deployer.trigger(), (err) => out.note(out.errStyle.yellow(`watch: ${err.message}`)));
    deployer.trigger();

    for (;;) {
      const current: AdminClient = client;
      const ended = await Promise.race([stopped, current.closed, deployer.fatal]);
      if (ended === "signal") return EXIT_CODES.ok;
      if ("code" in ended && typeof ended.code === "string") {
        out.note(out.errStyle.red(`modhost dev: ${ended.code} ${ended.message}`));
        return EXIT_CODES.unavailable;
      }
      if (local !== undefined) {
        out.note(out.errStyle.red("modhost dev: the local host closed the connection"));
        return EXIT_CODES.unavailable;
      }
      // The server restarted or the network dropped: reconnect, subscribe again, push the folder again.
      out.note(out.errStyle.yellow(`modhost dev: ${describeClose(ended as { code: number; reason: string })}`));
      const next = await reconnect(() => connectToServer("dev", values), stopped, (message) => out.note(out.errStyle.yellow(`modhost dev: ${message}`)));
      if (next === undefined) return EXIT_CODES.ok;
      client = next;
      const attached = await attach(next).then(
        () => true,
        (err: unknown) => {
          if (isModhostError(err, "E_ADMIN_UNAVAILABLE")) return false;
          throw err;
        },
      );
      if (!attached) continue;
      out.note(out.errStyle.gray("modhost dev: reconnected; pushing the folder again"));
      memory.forget();
      deployer.trigger();
    }
  } finally {
    signal.dispose();
    await watch?.close();
    await client?.close();
    await local?.close();
  }
}

/** Runs deploys one at a time; a save during a deploy queues exactly one more. */
class SerialDeployer {
  readonly #deploy: () => Promise<void>;
  #running = false;
  #again = false;
  #fail: (error: ErrorInfo) => void = () => undefined;
  /** Resolves when a deploy hits an error dev cannot go on after (the server is gone). */
  readonly fatal = new Promise<ErrorInfo>((resolve) => {
    this.#fail = resolve;
  });

  constructor(deploy: () => Promise<void>) {
    this.#deploy = deploy;
  }

  trigger(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void (async () => {
      try {
        do {
          this.#again = false;
          await this.#deploy();
        } while (this.#again);
      } catch (err) {
        this.#fail(isModhostError(err) ? err.toInfo() : { code: "E_INTERNAL", message: messageOf(err) });
      } finally {
        this.#running = false;
      }
    })();
  }
}

/**
 * Reads the folder and deploys it; prints the report or what stopped it, and after a swap the
 * answers to `afterSwap`. A server that is gone is reported: the reconnect pushes the folder again.
 */
async function deployOnce(client: AdminClient | undefined, dir: string, shown: string, out: CliOutput, afterSwap: DevEmit | undefined, memory: DevPushMemory): Promise<void> {
  if (client === undefined) return;
  const prefix = `${shown.replace(/\/+$/, "")}/`.replace(/^\.\//, "");
  let files: Record<string, string>;
  try {
    files = await readDeployFiles(dir);
  } catch (err) {
    if (!isModhostError(err)) throw err;
    printError(err.toInfo(), out, prefix, undefined);
    return;
  }
  if (memory.unchanged(files)) return; // the watcher woke twice for one save: its answer is already printed
  try {
    const report = await client.request("deploy", { files, by: `modhost dev (${whoAmI()})` });
    const fixed = memory.lastRefused && report.ok;
    memory.remember(files, report);
    if (out.json) out.data({ type: "report", report, ...(fixed ? { fixed } : {}) });
    else if (fixed && report.kind === "noop") {
      // The refused save never went live: its fix has the live version's code, so there is nothing to swap.
      out.line(`${out.style.gray(new Date().toISOString().slice(11, 19))} ${out.style.green("✓")} ${out.style.bold(report.mod)} ${report.to}: fixed; the live version already runs this code (the refused save never went live), nothing to swap`);
    } else out.line(`${out.style.gray(new Date().toISOString().slice(11, 19))} ${formatReport(report, out.style, (file) => files[file], prefix)}`);
    if (afterSwap !== undefined && report.ok && report.kind !== "noop") {
      const outcome = await emitAction(client, afterSwap.event, afterSwap.payload, report.mod, out.style);
      if (out.json) out.data({ type: "emit", data: outcome.data });
      else out.line(`${out.style.gray(`emit ${afterSwap.event}:`)}\n${outcome.text}`);
    }
  } catch (err) {
    if (isModhostError(err, "E_ADMIN_UNAVAILABLE")) {
      out.note(out.errStyle.yellow(`modhost dev: the server is unreachable (${err.message}); the folder is pushed again once reconnected`));
      return;
    }
    if (!isModhostError(err)) throw err;
    printError(err.toInfo(), out, prefix, files);
  }
}

function printError(error: ErrorInfo, out: CliOutput, prefix: string, files: Record<string, string> | undefined): void {
  if (out.json) {
    out.data({ type: "error", error });
    return;
  }
  out.line(`${out.style.red("✗")} ${formatErrorLine(error, out.style, prefix)}`);
  const text = error.file !== undefined ? files?.[error.file] : undefined;
  if (text !== undefined && error.line !== undefined) out.line(codeFrame(text, error.line, error.column ?? 0, out.style));
}

/** A host in a temp modsDir with its admin server on loopback, for `dev` without --server. */
async function startLocalServer(types: readonly string[], config: ProjectConfig | undefined, out: CliOutput): Promise<LocalServer> {
  const modsDir = await mkdtemp(join(tmpdir(), "modhost-dev-"));
  const token = generateToken();
  let host: ModHost | undefined;
  let admin: AdminServer | undefined;
  const close = async (): Promise<void> => {
    const errors: unknown[] = [];
    await admin?.close().catch((err: unknown) => errors.push(err));
    await host?.close().catch((err: unknown) => errors.push(err));
    await rm(modsDir, { recursive: true, force: true }).catch((err: unknown) => errors.push(err));
    for (const err of errors) out.note(out.errStyle.red(`while stopping the local host: ${messageOf(err)}`));
  };
  try {
    const stubs =
      config === undefined
        ? undefined
        : new CapabilityStubs(config.capabilities, (call) => {
            if (out.json) out.data({ type: "capability", data: call });
            else out.line(`${out.style.gray(new Date().toISOString().slice(11, 19))} ${out.style.cyan("stub")} ${formatStubCall(call)}`);
          });
    host = await ModHost.create({
      modsDir,
      ...(types.length > 0 ? { modTypes: types.map((t) => resolve(t)) } : {}),
      ...(config !== undefined && stubs !== undefined ? { capabilities: stubs.functions(), grants: config.grants, limits: config.limits } : {}),
    });
    admin = await AdminServer.create({ host, token, modsDir, onProblem: (message) => out.note(out.errStyle.yellow(message)) });
  } catch (err) {
    await close();
    throw err;
  }
  return { url: admin.url, token, close };
}

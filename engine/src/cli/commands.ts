import { CHECK_HELP, checkCommand } from "./check-command.js";
import { CONSOLE_HELP, consoleCommand } from "./console-command.js";
import { EMIT_HELP, emitCommand, stateCommand, versionsCommand } from "./console-commands.js";
import { deployCommand } from "./deploy-command.js";
import { FLEET_HELP, RELEASE_HELP, fleetCommand, releaseCommand } from "./fleet-command.js";
import { DEV_HELP, devCommand } from "./dev-command.js";
import { INIT_HELP, initCommand } from "./init-command.js";
import { KEYGEN_HELP, keygenCommand } from "./keygen-command.js";
import { logsCommand } from "./logs-command.js";
import { PACK_HELP, packCommand } from "./pack-command.js";
import { metricsCommand, statusCommand, swapCommand } from "./remote-commands.js";
import { SERVE_HELP, serveCommand } from "./serve-command.js";
import { SERVER_HELP } from "./server-connection.js";

/** A CLI command: its usage line, a one-line summary, and what it does. */
export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly help?: string;
  /** Runs the command; resolves with the exit code, or rejects (main maps the error to one). */
  run(args: readonly string[]): Promise<number>;
}

const REMOTE_HELP = `Options:\n${SERVER_HELP}`;

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  { name: "init", usage: "init <dir>", summary: "scaffold a new mod (mod.json, main.ts, tsconfig, a test)", help: INIT_HELP, run: initCommand },
  { name: "check", usage: "check <modDir> [--against <dir>] [--json]", summary: "compile, type-check and safety-check a mod; diff it against another version", help: CHECK_HELP, run: checkCommand },
  { name: "keygen", usage: "keygen --out <dir>", summary: "make an Ed25519 signing key pair (minisign formats)", help: KEYGEN_HELP, run: keygenCommand },
  { name: "pack", usage: "pack <modDir> --key <secretKey> [--out <dir>] [--name <npm name>]", summary: "check a mod and write a signed, reproducible npm tarball", help: PACK_HELP, run: packCommand },
  { name: "serve", usage: "serve <modsDir> [--state <dir>] [--port <n>] [--token-file <f>] [--watch] [--isolation inline|process]", summary: "run a host with the admin channel and /metrics", help: SERVE_HELP, run: serveCommand },
  { name: "dev", usage: "dev <modDir> [--server <url>]", summary: "watch a mod and push every save to a server (or a local host)", help: DEV_HELP, run: devCommand },
  { name: "status", usage: "status --server <url>", summary: "list the mods of a running server", help: REMOTE_HELP, run: statusCommand },
  { name: "reload", usage: "reload <mod> --server <url>", summary: "reload a mod from the server's disk", help: REMOTE_HELP, run: swapCommand("reload") },
  { name: "rollback", usage: "rollback <mod> [--to <version>] --server <url>", summary: "return a mod to its previous version, or to an older one (see versions)", help: `Options:\n  --to <version>      an earlier version (or hash prefix) from modhost versions\n${SERVER_HELP}`, run: swapCommand("rollback") },
  { name: "approve", usage: "approve <mod> --server <url>", summary: "apply a patch held for approval", help: REMOTE_HELP, run: swapCommand("approve") },
  { name: "deploy", usage: "deploy <modDir> --server <url>", summary: "send a mod's files to a server and swap it in (exit 4: held for approval)", help: REMOTE_HELP, run: deployCommand },
  { name: "versions", usage: "versions <mod> --server <url>", summary: "a mod's versions: hash, source, when, how and by whom, live and held", help: REMOTE_HELP, run: versionsCommand },
  { name: "emit", usage: "emit <event> [json] [--mod m] --server <url>", summary: "send an event to the mods and print their answers", help: EMIT_HELP, run: emitCommand },
  { name: "state", usage: "state <mod> --server <url>", summary: "print a mod's state", help: REMOTE_HELP, run: stateCommand },
  { name: "console", usage: "console --server <url>", summary: "interactive console: emit, state, versions... with completion and history", help: CONSOLE_HELP, run: consoleCommand },
  { name: "logs", usage: "logs [mod] --server <url> [--follow]", summary: "show mods' log lines", help: `Options:\n${SERVER_HELP}\n  --follow, -f        keep printing new lines until Ctrl-C\n  --limit <n>         how many recent lines (default 200)`, run: logsCommand },
  { name: "release", usage: "release <mod>@<version> --fleet <redis url> [--steps 5,25,50,100] [--interval 60s] [--max-error-rate 0.05] [--min-events 200] [--failure-limit 2] [--group <g>]", summary: "roll a package version out to a fleet, canary step by step, with automatic rollback", help: RELEASE_HELP, run: releaseCommand },
  { name: "fleet", usage: "fleet status|promote|pause|resume|abort|rollback [mod] --fleet <redis url>", summary: "see and steer fleet releases", help: FLEET_HELP, run: fleetCommand },
  { name: "metrics", usage: "metrics --server <url>", summary: "show the server's metrics", help: REMOTE_HELP, run: metricsCommand },
];

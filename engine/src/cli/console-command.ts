import { appendFile, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import type { AdminClient } from "../admin/admin-client.js";
import { isModhostError, messageOf } from "../errors/modhost-error.js";
import { parseCommandArgs } from "./cli-args.js";
import { cliOutput, type CliOutput } from "./cli-output.js";
import { emitAction, parsePayload, stateAction, versionsAction, type ActionOutcome } from "./console-actions.js";
import { CONSOLE_COMMANDS, completeConsoleLine, type CompletionData } from "./console-completion.js";
import { EXIT_CODES } from "./exit-codes.js";
import { describeClose, reconnect } from "./reconnect.js";
import { formatLogLine, formatMods, formatReport } from "./report-format.js";
import { connectToServer, SERVER_FLAGS, whoAmI } from "./server-connection.js";

/** Help for `modhost console --help` and for `help` inside it. */
export const CONSOLE_HELP = [
  "An interactive console on a running server. Tab completes commands, mod names and event names;",
  "Up/Down walk the history (kept in ~/.modhost_console_history, or $MODHOST_HISTORY). Each answer",
  "says how long it took on the server and round trip. The console reconnects when the server restarts.",
  "",
  "Commands:",
  "  emit <event> [json] [--mod m]   send an event as the game would; print each mod's answer",
  "  state <mod>                     the mod's state",
  "  versions <mod>                  the mod's versions (history, live, held)",
  "  status                          the mods, their status and what is pending",
  "  reload <mod> | approve <mod>    swap operations",
  "  rollback <mod> [--to <version>]",
  "  logs [mod]                      the most recent log lines",
  "  help, exit (or Ctrl-D)",
  "",
  "Options: --server <url>, --token-file <f> (as for every remote command), --json (one JSON answer per line)",
].join("\n");

const HISTORY_LINES = 500;

/**
 * `modhost console`: reads commands from the terminal (or stdin), runs each against the server
 * and prints its answer with its timing. Runs until `exit`, Ctrl-D or the end of input.
 */
export async function consoleCommand(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs("console", args, SERVER_FLAGS, { min: 0, max: 0, names: "" });
  const out = cliOutput(values.json === true);
  const connect = (): Promise<AdminClient> => connectToServer("console", values);
  let client: AdminClient | undefined = await connect();
  let completion: CompletionData = { mods: [], events: {} };
  const refresh = async (): Promise<void> => {
    if (client === undefined) return;
    const [{ mods }, { mods: events }] = await Promise.all([client.request("status", {}), client.request("events", {})]);
    completion = { mods: mods.map((m) => m.name), events };
  };
  await refresh();

  const historyFile = process.env.MODHOST_HISTORY ?? join(homedir(), ".modhost_console_history");
  const history = await readHistory(historyFile);
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    history,
    historySize: HISTORY_LINES,
    completer: (line: string) => completeConsoleLine(line, completion),
    // Piped input (a script) gets answers only; a terminal gets a prompt.
    prompt: out.json || !terminal ? "" : "modhost> ",
  });
  let ended = false;
  const closedInput = new Promise<void>((resolve) => rl.once("close", () => resolve()));
  void closedInput.then(() => (ended = true));

  // Reconnects in the background; a command typed meanwhile is told so.
  const watch = (current: AdminClient): void => {
    void current.closed.then(async (closed) => {
      if (ended || client !== current) return;
      client = undefined;
      out.note(out.errStyle.yellow(describeClose(closed)));
      try {
        const next = await reconnect(connect, closedInput, (message) => out.note(out.errStyle.yellow(message)));
        if (next === undefined) return;
        client = next;
        watch(next);
        await refresh().catch((err: unknown) => out.note(out.errStyle.yellow(`reading mods and events: ${messageOf(err)}`)));
        out.note(out.errStyle.gray("reconnected"));
      } catch (err) {
        out.note(out.errStyle.red(`cannot reconnect: ${messageOf(err)}`));
        rl.close();
      }
    });
  };
  watch(client);

  if (!out.json && terminal) out.line(out.style.gray(`connected to ${values.server ?? process.env.MODHOST_SERVER}: ${completion.mods.length} mod(s); help for commands, Tab completes`));
  // Lines are queued as readline reads them and run one at a time, also after piped input has
  // closed. Node 24's readline throws ERR_USE_AFTER_CLOSE on prompt() once closed: prompt only
  // while open (a piped script lost every answer after its first one).
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  rl.on("line", (line) => {
    lines.push(line);
    wake?.();
  });
  void closedInput.then(() => wake?.());
  const nextLine = async (): Promise<string | undefined> => {
    while (lines.length === 0) {
      if (ended) return undefined;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    return lines.shift();
  };
  const prompt = (): void => {
    if (!ended) rl.prompt();
  };
  let failures = 0;
  prompt();
  try {
    for (let line = await nextLine(); line !== undefined; line = await nextLine()) {
      const trimmed = line.trim();
      if (trimmed === "exit" || trimmed === "quit") break;
      if (trimmed !== "") {
        void appendFile(historyFile, `${trimmed}\n`, { mode: 0o600 }).catch((err: unknown) => {
          // History is a convenience: say once that it cannot be kept, and go on.
          out.note(out.errStyle.gray(`console history not saved (${messageOf(err)})`));
        });
        const ok = await runLine(trimmed, client, out, refresh);
        if (!ok) failures++;
      }
      prompt();
    }
  } finally {
    ended = true;
    rl.close();
    await client?.close();
  }
  // Scripts piping commands in learn whether any failed.
  return failures === 0 ? EXIT_CODES.ok : EXIT_CODES.failed;
}

/** Runs one console line; prints its answer or error; resolves with whether it went well. */
async function runLine(line: string, client: AdminClient | undefined, out: CliOutput, refresh: () => Promise<void>): Promise<boolean> {
  const [command = "", ...rest] = splitWords(line);
  if (command === "help") {
    out.line(CONSOLE_HELP);
    return true;
  }
  if (!(CONSOLE_COMMANDS as readonly string[]).includes(command)) {
    out.note(out.errStyle.red(`unknown command "${command}" (${CONSOLE_COMMANDS.join(", ")})`));
    return false;
  }
  if (client === undefined) {
    out.note(out.errStyle.yellow("not connected: reconnecting to the server (try again in a moment)"));
    return false;
  }
  try {
    const outcome = await run(command, rest, client, out);
    if (out.json) out.data(outcome.data);
    else out.line(outcome.text);
    if (command !== "emit" && command !== "state" && command !== "logs") await refresh();
    return outcome.ok;
  } catch (err) {
    if (out.json) out.data({ error: isModhostError(err) ? err.toInfo() : { code: "E_INTERNAL", message: messageOf(err) } });
    else out.note(out.errStyle.red(isModhostError(err) ? `${err.code} ${err.message}` : messageOf(err)));
    return false;
  }
}

async function run(command: string, args: readonly string[], client: AdminClient, out: CliOutput): Promise<ActionOutcome> {
  const mod = args[0];
  const needMod = (): string => {
    if (mod === undefined) throw new Error(`${command} needs a mod name (Tab completes it)`);
    return mod;
  };
  switch (command) {
    case "emit": {
      const flag = args.indexOf("--mod");
      const target = flag >= 0 ? args[flag + 1] : undefined;
      const positional = flag >= 0 ? [...args.slice(0, flag), ...args.slice(flag + 2)] : [...args];
      const event = positional[0];
      if (event === undefined) throw new Error("emit needs an event name (Tab completes it)");
      return emitAction(client, event, parsePayload("console", positional.slice(1).join(" ") || undefined), target, out.style);
    }
    case "state":
      return stateAction(client, needMod(), out.style);
    case "versions":
      return versionsAction(client, needMod(), out.style);
    case "status": {
      const { mods } = await client.request("status", {});
      return { text: formatMods(mods, out.style), data: { mods }, ok: true };
    }
    case "reload":
    case "approve":
    case "rollback": {
      const toFlag = args.indexOf("--to");
      const to = toFlag >= 0 ? args[toFlag + 1] : undefined;
      const started = performance.now();
      const report =
        command === "rollback" ? await client.request("rollback", { mod: needMod(), by: whoAmI(), ...(to !== undefined ? { to } : {}) }) : await client.request(command, { mod: needMod(), by: whoAmI() });
      return { text: `${formatReport(report, out.style)}\n${out.style.gray(`(${Math.round((performance.now() - started) * 100) / 100} ms round trip)`)}`, data: report, ok: report.ok };
    }
    case "logs": {
      const { lines } = await client.request("logs", { ...(mod !== undefined ? { mod } : {}), limit: 50 });
      return { text: lines.length === 0 ? out.style.gray("no log lines yet") : lines.map((l) => formatLogLine(l, out.style)).join("\n"), data: { lines }, ok: true };
    }
    default:
      throw new Error(`unknown command "${command}"`);
  }
}

/** Splits a line on spaces, keeping a JSON payload (which may hold spaces) as typed after the event. */
function splitWords(line: string): string[] {
  const json = line.search(/[[{"]/);
  if (json < 0) return line.split(/\s+/);
  const head = line.slice(0, json).trim().split(/\s+/);
  // A trailing --mod m after the JSON stays a flag.
  const tail = /\s--mod\s+(\S+)\s*$/.exec(line);
  const payload = (tail !== null ? line.slice(json, tail.index) : line.slice(json)).trim();
  return [...head, payload, ...(tail !== null ? ["--mod", tail[1] as string] : [])];
}

async function readHistory(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return "";
    throw err;
  });
  // readline wants the newest first.
  return text.split("\n").filter((l) => l !== "").slice(-HISTORY_LINES).reverse();
}

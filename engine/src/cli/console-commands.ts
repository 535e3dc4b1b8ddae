import type { AdminClient } from "../admin/admin-client.js";
import { parseCommandArgs } from "./cli-args.js";
import { cliOutput } from "./cli-output.js";
import { emitAction, parsePayload, stateAction, versionsAction, type ActionOutcome } from "./console-actions.js";
import { EXIT_CODES } from "./exit-codes.js";
import { withServer } from "./remote-commands.js";
import { SERVER_FLAGS } from "./server-connection.js";

const EMIT_FLAGS = { ...SERVER_FLAGS, mod: { type: "string" } } as const;

/** Help for `modhost emit --help`. */
export const EMIT_HELP = [
  "Sends an event to the server's mods as the game would (every mod that handles it runs it) and",
  "prints each mod's answer and the time it took. The payload is JSON (default null).",
  "",
  "Options:",
  "  --mod <m>           print only this mod's answer",
  "  --server <url>      the server (default: $MODHOST_SERVER)",
  "  --token-file <f>    file holding the admin token (default: $MODHOST_TOKEN)",
  "  --json              print { event, results, ms } as JSON",
  "",
  "Example: modhost emit chat '{\"player\":\"p1\",\"name\":\"ann\",\"text\":\"hi\"}' --mod chat-filter",
  "Exit codes: 0 every answer ok, 1 a mod failed or no mod handles the event",
].join("\n");

/** `modhost emit <event> [json] [--mod m]`. */
export async function emitCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("emit", args, EMIT_FLAGS, { min: 1, max: 2, names: "the event's name" });
  const payload = parsePayload("emit", positionals[1]);
  return print(values.json === true, (client, style) => emitAction(client, positionals[0] as string, payload, values.mod, style), values, "emit");
}

/** `modhost state <mod> [--json]`. */
export async function stateCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("state", args, SERVER_FLAGS, { min: 1, max: 1, names: "the mod's name" });
  return print(values.json === true, (client, style) => stateAction(client, positionals[0] as string, style), values, "state");
}

/** `modhost versions <mod> [--json]`. */
export async function versionsCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("versions", args, SERVER_FLAGS, { min: 1, max: 1, names: "the mod's name" });
  return print(values.json === true, (client, style) => versionsAction(client, positionals[0] as string, style), values, "versions");
}

async function print(
  json: boolean,
  action: (client: AdminClient, style: ReturnType<typeof cliOutput>["style"]) => Promise<ActionOutcome>,
  values: { server?: string | undefined; "token-file"?: string | undefined },
  command: string,
): Promise<number> {
  const out = cliOutput(json);
  const outcome = await withServer(command, values, (client) => action(client, out.style));
  if (out.json) out.data(outcome.data);
  else out.line(outcome.text);
  return outcome.ok ? EXIT_CODES.ok : EXIT_CODES.failed;
}

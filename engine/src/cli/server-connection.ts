import { readFile } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { AdminClient } from "../admin/admin-client.js";
import { messageOf } from "../errors/modhost-error.js";
import { usageError } from "./cli-args.js";

/** The flags every command that talks to a server takes. */
export const SERVER_FLAGS = {
  server: { type: "string" },
  "token-file": { type: "string" },
  json: { type: "boolean" },
} as const;

/** Help text shared by the commands that talk to a server. */
export const SERVER_HELP = [
  "  --server <url>      the server, e.g. http://127.0.0.1:4555 (default: $MODHOST_SERVER)",
  "  --token-file <f>    file holding the admin token (default: the token in $MODHOST_TOKEN)",
  "  --json              print JSON instead of text",
].join("\n");

/**
 * Connects to the server named by --server (or MODHOST_SERVER) with the token from --token-file
 * (or MODHOST_TOKEN). A missing server or token, or an unreadable token file, is a usage error.
 */
export async function connectToServer(command: string, values: { readonly server?: string | undefined; readonly "token-file"?: string | undefined }): Promise<AdminClient> {
  const server = values.server ?? process.env.MODHOST_SERVER;
  if (server === undefined || server === "") throw usageError(`modhost ${command}: which server? Give --server <url> (or set MODHOST_SERVER)`);
  let token: string | undefined;
  const tokenFile = values["token-file"];
  if (tokenFile !== undefined) {
    try {
      token = (await readFile(tokenFile, "utf8")).trim();
    } catch (err) {
      throw usageError(`modhost ${command}: cannot read the token file ${tokenFile}: ${messageOf(err)}`);
    }
    if (token === "") throw usageError(`modhost ${command}: the token file ${tokenFile} is empty`);
  } else {
    token = process.env.MODHOST_TOKEN;
    if (token === undefined || token === "") throw usageError(`modhost ${command}: no admin token: give --token-file <file> (serve prints where it is) or set MODHOST_TOKEN`);
  }
  return AdminClient.connect(server, token);
}

/** Who is asking, for the server's version history: `user@machine` (printable, at most 128 characters). */
export function whoAmI(): string {
  let user = "someone";
  try {
    user = userInfo().username;
  } catch (err) {
    // No user name for this uid (a container): the machine alone still says something.
    void err;
  }
  return `${user}@${hostname()}`.replace(/[^\x20-\x7e]/g, "?").slice(0, 128);
}

import type { AdminClient } from "../admin/admin-client.js";
import type { LogLine } from "../admin/protocol.js";
import { isModhostError } from "../errors/modhost-error.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput } from "./cli-output.js";
import { EXIT_CODES } from "./exit-codes.js";
import { describeClose, reconnect } from "./reconnect.js";
import { formatLogLine } from "./report-format.js";
import { connectToServer, SERVER_FLAGS } from "./server-connection.js";
import { shutdownSignal } from "./shutdown-signal.js";

const FLAGS = { ...SERVER_FLAGS, follow: { type: "boolean", short: "f" }, limit: { type: "string" } } as const;

/**
 * `modhost logs [mod] [--follow] [--limit n]`: the server's most recent log lines (of one mod, if
 * named), or a line saying there are none; with --follow, then every new line until Ctrl-C,
 * reconnecting with backoff when the server restarts. With --json, one JSON object per line.
 */
export async function logsCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("logs", args, FLAGS, { min: 0, max: 1, names: "" });
  const out = cliOutput(values.json === true);
  const mod = positionals[0];
  let limit: number | undefined;
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > 10_000) throw usageError(`modhost logs: --limit must be a number from 1 to 10000, got ${JSON.stringify(values.limit)}`);
    limit = Number(values.limit);
  }
  // The last line printed: lines are told apart by server time, then sequence number (the
  // sequence starts again at 1 when the server restarts; its clock does not).
  let last = { time: 0, seq: 0 };
  const isNew = (line: LogLine): boolean => line.time > last.time || (line.time === last.time && line.seq > last.seq);
  const print = (line: LogLine): void => {
    if (!isNew(line)) return;
    last = { time: line.time, seq: line.seq };
    if (out.json) out.data(line);
    else out.line(formatLogLine(line, out.style));
  };
  const follow = values.follow === true;

  /** Reads the history (subscribing first with --follow, so no line falls between); resolves with how many lines were printed. */
  const attach = async (client: AdminClient): Promise<number> => {
    const held: LogLine[] = [];
    let live = false;
    if (follow) {
      client.onEvent((event) => {
        if (event.stream !== "log") return;
        if (!live) held.push(event.data);
        else print(event.data);
      });
      await client.request("subscribe", { streams: ["log"], ...(mod !== undefined ? { mod } : {}) });
    }
    const { lines } = await client.request("logs", { ...(mod !== undefined ? { mod } : {}), ...(limit !== undefined ? { limit } : {}) });
    let printed = 0;
    for (const line of [...lines, ...held.splice(0)]) {
      if (isNew(line)) printed++;
      print(line);
    }
    live = true;
    return printed;
  };

  let client = await connectToServer("logs", values);
  try {
    const printed = await attach(client);
    if (!follow) {
      if (printed === 0 && !out.json) out.note(out.errStyle.gray(`no log lines${mod !== undefined ? ` from ${mod}` : ""} on the server yet (the server keeps its most recent lines; --follow waits for new ones)`));
      return EXIT_CODES.ok;
    }
    const signal = shutdownSignal();
    const stopped = signal.received.then(() => "signal" as const);
    out.note(out.errStyle.gray(`following ${mod ?? "every mod"}'s log (Ctrl-C to stop)`));
    try {
      for (;;) {
        const ended = await Promise.race([stopped, client.closed]);
        if (ended === "signal") return EXIT_CODES.ok;
        out.note(out.errStyle.yellow(describeClose(ended)));
        const next = await reconnect(() => connectToServer("logs", values), stopped, (message) => out.note(out.errStyle.yellow(message)));
        if (next === undefined) return EXIT_CODES.ok;
        client = next;
        // The server may go away again meanwhile: then the loop waits for this client's close.
        const attached = await attach(client).then(
          () => true,
          (err: unknown) => {
            if (isModhostError(err, "E_ADMIN_UNAVAILABLE")) return false;
            throw err;
          },
        );
        if (attached) out.note(out.errStyle.gray("reconnected: following again"));
      }
    } finally {
      signal.dispose();
    }
  } finally {
    await client.close();
  }
}

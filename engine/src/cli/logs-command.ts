import type { LogLine } from "../admin/protocol.js";
import { CLOSE_CODES } from "../admin/protocol.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput } from "./cli-output.js";
import { EXIT_CODES } from "./exit-codes.js";
import { formatLogLine } from "./report-format.js";
import { connectToServer, SERVER_FLAGS } from "./server-connection.js";
import { shutdownSignal } from "./shutdown-signal.js";

const FLAGS = { ...SERVER_FLAGS, follow: { type: "boolean", short: "f" }, limit: { type: "string" } } as const;

/**
 * `modhost logs [mod] [--follow] [--limit n]`: the server's most recent log lines (of one mod, if
 * named); with --follow, then every new line until Ctrl-C. With --json, one JSON object per line.
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
  const print = (line: LogLine): void => {
    if (out.json) out.data(line);
    else out.line(formatLogLine(line, out.style));
  };
  const client = await connectToServer("logs", values);
  try {
    let lastSeq = 0;
    const held: LogLine[] = [];
    let live = false;
    if (values.follow === true) {
      // Subscribe before reading the history, so no line falls between the two; lines in both are
      // told apart by their sequence number.
      client.onEvent((event) => {
        if (event.stream !== "log") return;
        if (!live) held.push(event.data);
        else if (event.data.seq > lastSeq) {
          lastSeq = event.data.seq;
          print(event.data);
        }
      });
      await client.request("subscribe", { streams: ["log"], ...(mod !== undefined ? { mod } : {}) });
    }
    const { lines } = await client.request("logs", { ...(mod !== undefined ? { mod } : {}), ...(limit !== undefined ? { limit } : {}) });
    for (const line of lines) {
      print(line);
      lastSeq = Math.max(lastSeq, line.seq);
    }
    if (values.follow !== true) return EXIT_CODES.ok;
    live = true;
    for (const line of held.splice(0)) {
      if (line.seq > lastSeq) {
        lastSeq = line.seq;
        print(line);
      }
    }
    const signal = shutdownSignal();
    out.note(out.errStyle.gray(`following ${mod ?? "every mod"}'s log (Ctrl-C to stop)`));
    try {
      const ended = await Promise.race([signal.received.then(() => undefined), client.closed]);
      if (ended === undefined) return EXIT_CODES.ok;
      if (ended.code === CLOSE_CODES.goingAway) {
        out.note("the server shut down");
        return EXIT_CODES.ok;
      }
      out.note(`the server closed the connection (${ended.code}${ended.reason ? `: ${ended.reason}` : ""})`);
      return EXIT_CODES.unavailable;
    } finally {
      signal.dispose();
    }
  } finally {
    await client.close();
  }
}

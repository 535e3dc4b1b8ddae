import { isModhostError, messageOf } from "../errors/modhost-error.js";
import { COMMANDS, type Command } from "./commands.js";
import { formatErrorHint } from "./error-hint-line.js";
import { oneBasedColumns } from "./json-columns.js";
import { EXIT_CODES, exitCodeOf } from "./exit-codes.js";
import { helpWidth, suggest, wrapHelp } from "./help-text.js";
import { formatErrorLine } from "./report-format.js";
import { styleFor } from "./terminal-style.js";

/** Version of the modhost package, for `--version`. */
const VERSION = "0.1.0";

/** Usage lines wider than this get their summary on the next line. */
const USAGE_COLUMN = 34;

function usage(): string {
  const width = helpWidth();
  const rows = COMMANDS.flatMap((c) =>
    c.usage.length <= USAGE_COLUMN ? [`  ${c.usage.padEnd(USAGE_COLUMN)}  ${c.summary}`] : [`  ${c.usage}`, `  ${" ".repeat(USAGE_COLUMN)}  ${c.summary}`],
  );
  return wrapHelp(
    [
      "modhost: run untrusted TypeScript game mods in sandboxes and hot-patch them live",
      "",
      "Usage: modhost <command> [options]",
      "",
      "Commands:",
      ...rows,
      "",
      "Options: --help (on any command), --version, --json (machine-readable output)",
      "Exit codes: 0 ok, 1 findings or refused, 2 usage error, 3 server unreachable or token refused, 4 held for approval",
    ].join("\n"),
    width,
  );
}

/**
 * Runs the CLI with `argv` (without node and the script); resolves with the exit code. Errors a
 * command throws are printed as `CODE message` (with --json: `{ "error": {...} }` on stdout) and
 * mapped to exit codes: 2 usage, 3 server unreachable or refused, 1 anything else.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  if (name === "--version" || name === "-v") {
    console.log(VERSION);
    return EXIT_CODES.ok;
  }
  const command: Command | undefined = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    const close = suggest(name, COMMANDS.map((c) => c.name));
    const hint = close.length > 0 ? `did you mean ${close.slice(0, 3).map((c) => `"modhost ${c}"`).join(" or ")}?` : "modhost --help lists the commands";
    console.error(`modhost: unknown command "${name}": ${hint}`);
    return EXIT_CODES.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(wrapHelp(`Usage: modhost ${command.usage}\n\n${command.summary}${command.help ? `\n\n${command.help}` : ""}`, helpWidth()));
    return EXIT_CODES.ok;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const code = exitCodeOf(err);
    const info = isModhostError(err) ? err.toInfo() : { code: "E_INTERNAL" as const, message: messageOf(err) };
    if (rest.includes("--json")) process.stdout.write(`${JSON.stringify(oneBasedColumns({ error: info }))}\n`);
    const style = styleFor(process.stderr);
    if (code === EXIT_CODES.usage) console.error(`${info.message}\n\nUsage: modhost ${command.usage}   (modhost ${command.name} --help for more)`);
    else console.error([formatErrorLine(info, style), formatErrorHint(info.code, style)].filter((l) => l !== undefined).join("\n"));
    if (!isModhostError(err) && err instanceof Error && process.env.MODHOST_DEBUG) console.error(err.stack);
    return code;
  }
}

import { COMMANDS, type Command } from "./commands.js";

/** Version of the modhost package, for `--version`. */
const VERSION = "0.1.0";

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    "modhost: run untrusted TypeScript game mods in sandboxes and hot-patch them live",
    "",
    "Usage: modhost <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "Options: --help (on any command), --version, --json (machine-readable output)",
  ].join("\n");
}

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    console.log(VERSION);
    return 0;
  }
  const command: Command | undefined = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    console.error(`modhost: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`Usage: modhost ${command.usage}\n\n${command.summary}${command.help ? `\n\n${command.help}` : ""}`);
    return 0;
  }
  return command.run(rest);
}

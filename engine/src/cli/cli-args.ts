import { parseArgs, type ParseArgsConfig } from "node:util";
import { ModhostError } from "../errors/modhost-error.js";

/** The flags of a command, in node:util parseArgs' form. */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/** A usage error (exit code 2). */
export function usageError(message: string): ModhostError<"E_CLI_USAGE"> {
  return new ModhostError("E_CLI_USAGE", message);
}

/**
 * Parses a command's arguments strictly with node:util parseArgs: unknown flags, missing flag
 * values and a wrong number of positionals are usage errors (E_CLI_USAGE, exit code 2) that say
 * what was wrong.
 */
export function parseCommandArgs<const F extends FlagSpec>(
  command: string,
  args: readonly string[],
  flags: F,
  positionals: { readonly min: number; readonly max: number; readonly names: string },
): { values: ReturnType<typeof parseArgs<{ options: F; allowPositionals: true; strict: true }>>["values"]; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: flags, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw usageError(`modhost ${command}: ${message}`);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw usageError(`modhost ${command}: missing ${positionals.names}`);
  if (count > positionals.max) throw usageError(`modhost ${command}: unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`);
  return { values: parsed.values, positionals: parsed.positionals };
}

/** Parses a port flag: a whole number from 0 to 65535. */
export function parsePort(command: string, value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw usageError(`modhost ${command}: --port must be a number from 0 to 65535, got ${JSON.stringify(value)}`);
  return Number(value);
}

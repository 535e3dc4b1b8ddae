import { isModhostError } from "../errors/modhost-error.js";
import type { SwapReport } from "../model/swap-report.js";

/** The exit codes of the modhost command, which scripts can rely on. */
export const EXIT_CODES = {
  /** Done; nothing found (check), the swap went through (reload, deploy...). */
  ok: 0,
  /** Findings (check), or the server refused the operation (a rejected swap, an unknown mod). */
  failed: 1,
  /** Usage error: unknown command or flag, a missing argument, a bad value. */
  usage: 2,
  /** The server could not be reached, or refused the token (401) or the origin (403). */
  unavailable: 3,
  /** The version is held for the operator's approval (deploy, reload): not refused, not live yet. */
  held: 4,
} as const;

/** An exit code. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): ExitCode {
  if (isModhostError(err, "E_CLI_USAGE")) return EXIT_CODES.usage;
  if (isModhostError(err, "E_ADMIN_AUTH", "E_ADMIN_FORBIDDEN", "E_ADMIN_UNAVAILABLE", "E_FLEET_UNAVAILABLE")) return EXIT_CODES.unavailable;
  return EXIT_CODES.failed;
}

/** The exit code for a swap report: 0 live (or no change), 4 held for approval, 1 refused. */
export function exitOf(report: SwapReport): ExitCode {
  return report.ok ? EXIT_CODES.ok : report.error?.code === "E_APPROVAL_REQUIRED" ? EXIT_CODES.held : EXIT_CODES.failed;
}

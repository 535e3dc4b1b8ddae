import { ERROR_CODES, type ErrorBlame, type ErrorCode } from "./error-codes.js";

/** Where an error came from, in terms a mod author or operator can act on. */
export interface ErrorLocation {
  readonly mod?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;
}

/** The plain-data form of an error, as it appears in emit results and swap reports. */
export interface ErrorInfo extends ErrorLocation {
  readonly code: ErrorCode;
  readonly message: string;
  /**
   * The error's stack trace when it was thrown by the mod's own code (`E_THREW`, a failed
   * migrate()): the message line, then every frame in the mod's code mapped to its .ts
   * `file:line:column` (1-based columns, as V8 prints them); frames of the sandbox, SDK runtime
   * and engine are left out. Absent when no frame of the mod's code is known.
   */
  readonly stack?: string;
}

/**
 * The one error class modhost throws. `code` is stable (see ERROR_CODES); `blame` says who must
 * act; the location fields point at the mod, file, line or manifest field at fault.
 */
export class ModhostError<Code extends ErrorCode = ErrorCode> extends Error {
  override readonly name = "ModhostError";
  readonly code: Code;
  readonly blame: ErrorBlame;
  readonly location: ErrorLocation;

  constructor(code: Code, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.blame = ERROR_CODES[code];
    this.location = location;
  }

  /** The plain-data form, safe to send over the wire or put in a report. */
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, ...this.location };
  }
}

/** Is `value` a ModhostError (optionally with one of `codes`)? */
export function isModhostError(value: unknown, ...codes: ErrorCode[]): value is ModhostError {
  return value instanceof ModhostError && (codes.length === 0 || codes.includes(value.code));
}

/** A message for any thrown value, without stack frames. */
export function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}

import type { ErrorInfo } from "modhost";

/** Stable codes of the errors the test harness throws, each with what it means. */
export const MOD_TEST_ERROR_CODES = {
  /** The folder given to loadMod/swapTo cannot be read or holds no mod.json. */
  E_MOD_FOLDER: "the mod folder cannot be read or has no mod.json",
  /** The mod did not load (bad manifest, compile error, unsafe code, init threw...); `error` says why. */
  E_MOD_NOT_LOADED: "the mod failed to load",
  /** emit() reached no handler: the mod does not handle this event. */
  E_EVENT_NOT_HANDLED: "the mod has no handler for this event",
  /** value() got a failed result; `error` is the mod's error (E_THREW, E_TIMEOUT...). */
  E_HANDLER_FAILED: "the handler failed",
  /** setNow() or advance() got a time that is not a finite number (advance: or a negative one). */
  E_CLOCK: "the logical time given is not valid",
  /** The harness was used after close(). */
  E_CLOSED: "the mod under test was closed",
} as const;

/** A code of MOD_TEST_ERROR_CODES. */
export type ModTestErrorCode = keyof typeof MOD_TEST_ERROR_CODES;

/** The one error class of `@modhost/sdk/testing`: a stable `code`, and the engine's error when there is one. */
export class ModTestError extends Error {
  override readonly name = "ModTestError";
  readonly code: ModTestErrorCode;
  /** The engine's error data (from the load report or the emit result), when there is one. */
  readonly error: ErrorInfo | undefined;

  constructor(code: ModTestErrorCode, message: string, error?: ErrorInfo, options?: { cause?: unknown }) {
    super(error === undefined ? message : `${message}: ${error.code} ${error.message}${where(error)}`, options);
    this.code = code;
    this.error = error;
  }
}

function where(error: ErrorInfo): string {
  if (error.file === undefined) return "";
  return ` (${error.file}${error.line !== undefined ? `:${error.line}${error.column !== undefined ? `:${error.column + 1}` : ""}` : ""})`;
}

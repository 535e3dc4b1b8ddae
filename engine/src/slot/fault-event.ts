import type { ErrorCode } from "../errors/error-codes.js";
import type { ErrorLocation } from "../errors/modhost-error.js";
import type { FaultEvent } from "../model/mod-events.js";

/** What a fault says beyond its code and message. */
export interface FaultOptions {
  readonly event?: string | undefined;
  readonly quarantined?: boolean;
  /** Where in the mod's .ts source (a located timeout). */
  readonly at?: ErrorLocation;
}

/** The one place a slot's FaultEvent is built. */
export function faultEvent(mod: string, version: string, code: ErrorCode, message: string, options: FaultOptions = {}): FaultEvent {
  return { mod, version, code, message, ...(options.event !== undefined ? { event: options.event } : {}), quarantined: options.quarantined ?? false, ...locationOf(options.at) };
}

/** The file, line and column of a location, when it has a file. */
export function locationOf(at: ErrorLocation | undefined): { file?: string; line?: number; column?: number } {
  if (at?.file === undefined) return {};
  return { file: at.file, ...(at.line !== undefined ? { line: at.line } : {}), ...(at.column !== undefined ? { column: at.column } : {}) };
}

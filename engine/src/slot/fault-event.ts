import type { ErrorCode } from "../errors/error-codes.js";
import type { FaultEvent } from "../model/mod-events.js";

/** The one place a slot's FaultEvent is built. */
export function faultEvent(mod: string, version: string, code: ErrorCode, message: string, options: { event?: string | undefined; quarantined?: boolean } = {}): FaultEvent {
  return { mod, version, code, message, ...(options.event !== undefined ? { event: options.event } : {}), quarantined: options.quarantined ?? false };
}

import type { ModVersion } from "../compile/mod-version.js";
import { originalPosition } from "../compile/source-position.js";
import type { WireError } from "../model/wire.js";
import type { HotSpot, LocateRequest, SandboxBackend } from "../sandbox/sandbox-backend.js";
import { describeThrown } from "../util/describe-thrown.js";
import { handlerDeclaration } from "./handler-declaration.js";

/** A failure as an event's result carries it: a WireError, which may hold a .ts position known without a stack. */
export type LocatedFailure = WireError;

/** Why a timeout has no line when the run to find it completed without reaching the mod's code. */
const NOT_REPRODUCED = "a run to find it did not reproduce";

/** A timeout (as a failure or an ErrorInfo) whose line is not known, saying `why`. */
export function unlocated<F extends { readonly message: string }>(failure: F, why: string): F {
  return { ...failure, message: `${failure.message} (where it looped is unknown: ${why})` };
}

/**
 * A timeout, located. isolated-vm stops a timed-out call without a stack, so the call runs again
 * in a throwaway profiled isolate (`backend.locate`, sandbox/timeout-locator.ts). Found: the
 * failure gets a one-frame stack at the statement it was running (mapped to the .ts position as
 * E_THREW's stack is, which sets the error's file, line and column; like E_THREW's, the message
 * does not repeat them: every printer of an error shows them). Not found (no inspector in this
 * isolated-vm, or the run did not reproduce): for an event, the handler's declaration, said so in
 * the message; else the failure as it was.
 */
export async function locatedTimeout(backend: SandboxBackend, version: ModVersion, failure: LocatedFailure, request: LocateRequest): Promise<LocatedFailure> {
  let spot: HotSpot | null;
  // The location is a nicety: when finding it fails, the timeout is reported all the same, and says why.
  let why = NOT_REPRODUCED;
  try {
    spot = await backend.locate(request);
  } catch (err) {
    spot = null;
    why = `a run to find it failed: ${describeThrown(err)}`;
  }
  const module = spot === null ? undefined : version.modules.find((m) => m.path === spot.file);
  // Only a line the source map covers: else the frame would be left as compiled-JS text.
  if (spot !== null && module !== undefined && originalPosition(module, spot.line, 0) !== undefined) {
    return { code: failure.code, message: failure.message, stack: `${failure.code}: ${failure.message}\n    at ${spot.file}:${spot.line}:1` };
  }
  const handler = request.event?.name;
  // Not an event (a start, a staged version's modules, migrate()): said why there is no line.
  if (handler === undefined) return spot === null ? unlocated(failure, why) : failure;
  let declared: Awaited<ReturnType<typeof handlerDeclaration>>;
  try {
    declared = await handlerDeclaration(version, handler);
  } catch (err) {
    return { ...failure, message: `${failure.message} (where it looped is unknown: ${why}; finding on.${handler}'s declaration failed: ${describeThrown(err)})` };
  }
  if (declared === undefined) return failure;
  const where = `${declared.file}:${declared.line}:${declared.column + 1}`;
  return { ...failure, message: `${failure.message} (where it looped is unknown: ${why}; on.${handler} is declared at ${where})`, file: declared.file, line: declared.line, column: declared.column };
}

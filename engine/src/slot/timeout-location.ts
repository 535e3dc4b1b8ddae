import type { ModVersion } from "../compile/mod-version.js";
import { originalPosition } from "../compile/source-position.js";
import type { LocateRequest, SandboxBackend } from "../sandbox/sandbox-backend.js";

/** A failure that crosses as data (SandboxFailure, or an event's WireError). */
interface Failure {
  readonly code: string;
  readonly message: string;
  readonly stack?: string;
}

/**
 * A timeout, located: the failure with a one-frame stack at the statement it was running (the
 * host maps the stack to the .ts position, as for E_THREW, so the error's file, line and column
 * are set; like E_THREW's, the message does not repeat them: every printer of an error shows them). isolated-vm stops a timed-out call
 * without a stack, so the call runs again in a throwaway profiled isolate (`backend.locate`,
 * sandbox/timeout-locator.ts). The failure as it was when that finds nothing (no inspector in
 * this isolated-vm, or the run did not reproduce), or fails.
 */
export async function locatedTimeout(backend: SandboxBackend, version: ModVersion, failure: Failure, request: LocateRequest): Promise<Failure> {
  let spot;
  try {
    spot = await backend.locate(request);
  } catch (err) {
    // The location is a nicety: the timeout is reported all the same, without it.
    void err;
    return failure;
  }
  if (spot === null) return failure;
  const module = version.modules.find((m) => m.path === spot.file);
  // Only a line the source map covers: else the frame would be left as compiled-JS text.
  if (module === undefined || originalPosition(module, spot.line, 0) === undefined) return failure;
  return { code: failure.code, message: failure.message, stack: `${failure.code}: ${failure.message}\n    at ${spot.file}:${spot.line}:1` };
}

/**
 * @modhost/sdk/testing: load a mod folder into the real modhost sandbox from a test (vitest or any
 * runner), send it events, read its state, swap it to another version and check the report.
 * Needs the `modhost` package (a peer dependency of the SDK).
 */
export { loadMod } from "./load-mod.js";
export type { LoadedMod, LoadModOptions, ResultOf, TickEventOf } from "./load-mod.js";
export type { CapabilityCall } from "./capability-recorder.js";
export { defaultIsolation } from "./default-isolation.js";
export { ModTestError, MOD_TEST_ERROR_CODES } from "./mod-test-error.js";
export type { ModTestErrorCode } from "./mod-test-error.js";
export type { PathLike } from "./mod-folder.js";
export { describeError, describeOutcome, errorLocation, isOk, outcomeError } from "./outcome.js";
export type { Outcome } from "./outcome.js";

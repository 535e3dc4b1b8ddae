/**
 * The registry of every stable error code modhost reports. Codes are never reused or renamed;
 * docs/errors.md documents each with its fix. `blame` says who must act: the mod's author, the
 * operator (configuration, grants, limits), the game (embedding code), or the engine itself.
 */
export const ERROR_CODES = {
  // --- options and configuration (the embedding game or the operator) ---
  /** ModHost.create() got an option it does not know or of the wrong type. */
  E_OPTIONS_INVALID: "operator",
  /** modsDir does not exist or is not a readable folder. */
  E_MODS_DIR: "operator",
  /** emit() or emitMany() was given an event name or payload that is not plain JSON data (or emitMany() something other than an array of { event, payload }). */
  E_EVENT_INVALID: "game",
  /** A game capability threw, returned non-JSON data or a Promise, answered too much, or took longer than the capability time limit. */
  E_CAPABILITY_FAILED: "game",
  /** The host was closed; the call cannot be served. */
  E_HOST_CLOSED: "game",
  /** No mod with that name is loaded. */
  E_MOD_NOT_FOUND: "game",

  // --- loading a mod (the mod author or the operator) ---
  /** mod.json is missing, not JSON, or a field is wrong (see `field`). */
  E_MANIFEST_INVALID: "mod",
  /** Two mod folders declare the same name. */
  E_MOD_DUPLICATE: "mod",
  /** A file of the mod could not be read. */
  E_MOD_UNREADABLE: "mod",
  /** The manifest asks for more memory or time than the operator's caps allow. */
  E_LIMIT_EXCEEDS_CAP: "operator",
  /** The manifest asks for a permission the operator did not grant this mod. */
  E_PERMISSION_NOT_GRANTED: "operator",
  /** The manifest asks for a permission the game does not offer. */
  E_PERMISSION_UNKNOWN: "mod",
  /** TypeScript syntax error in a mod file. */
  E_SYNTAX: "mod",
  /** TypeScript type error in a mod file (typecheck policy "block"). */
  E_TYPE: "mod",
  /** An import outside the mod's folder and @modhost/sdk. */
  E_IMPORT_REFUSED: "mod",
  /** A relative import names a file the mod does not have. */
  E_IMPORT_NOT_FOUND: "mod",
  /** A static safety rule refused the code (eval, Function constructors, import(), with...). */
  E_UNSAFE_CODE: "mod",
  /** A mod file is too large or nested too deeply (brackets, operator chains, syntax tree) to compile safely. */
  E_SOURCE_TOO_COMPLEX: "mod",
  /** Type-checking the mod ran past the host's time or memory budget (`typecheckBudgetMs`, `typecheckMemoryMb`). */
  E_TYPECHECK_BUDGET: "mod",
  /** The entry module does not `export default defineMod({...})`. */
  E_MOD_DEFINITION: "mod",
  /** Top-level module code threw while the mod was being loaded. */
  E_MOD_LOAD_THREW: "mod",

  // --- running a mod (the mod author) ---
  /** A handler, init or migrate threw. */
  E_THREW: "mod",
  /** A call ran past the mod's time limit and was terminated; file:line:column name the statement it was running (found by running it again with a profiler). */
  E_TIMEOUT: "mod",
  /** The mod's isolate ran past its memory limit and was disposed; state was restored. */
  E_MEMORY_LIMIT: "mod",
  /** One event made more capability calls, or got more answer bytes, than the per-event caps allow. */
  E_CAPABILITY_LIMIT: "mod",
  /** A capability was called outside an event handler (top-level code, init, migrate, a state getter). */
  E_CAPABILITY_UNAVAILABLE: "mod",
  /** A handler returned a Promise: handlers must be synchronous. */
  E_ASYNC_HANDLER: "mod",
  /** A result, state or capability argument is not plain JSON data (or cyclic, or too deep). */
  E_NOT_PLAIN_DATA: "mod",
  /** A result, argument, log line or state is larger than the configured cap. */
  E_TOO_LARGE: "mod",
  /** The sandbox process died while this mod's call was running. */
  E_SANDBOX_CRASHED: "mod",
  /** The mod brought the sandbox down (or hit its limits) too many times in a row. */
  E_QUARANTINED: "mod",
  /** The mod is not running (it failed to load or to be restored). */
  E_MOD_FAULTED: "mod",
  /** A replay asked for a capability result the journal does not hold. */
  E_REPLAY_DIVERGED: "engine",

  // --- swaps (the mod author or the operator) ---
  /** The state's shape changed and the new version has no migrate(). */
  E_MIGRATION_REQUIRED: "mod",
  /** migrate() threw, timed out, ran out of memory or returned non-plain data. */
  E_MIGRATION_FAILED: "mod",
  /** The new version needs the operator's approval (new permission or higher limit). */
  E_APPROVAL_REQUIRED: "operator",
  /** There is no earlier version to roll back to. */
  E_NO_PREVIOUS_VERSION: "operator",
  /** approve() was called for a mod that has no patch waiting for approval. */
  E_NOTHING_TO_APPROVE: "operator",
  /** A new version failed probation (error rate or limit hits) and was rolled back. */
  E_PROBATION_FAILED: "mod",
  /** The new version could not be staged (its top-level code threw, timed out, or the sandbox died). */
  E_STAGE_FAILED: "mod",

  // --- persistence ---
  /** The stateDir was written by a newer, unknown format version. */
  E_STATE_FORMAT: "operator",
  /** Stored state could not be read back. */
  E_STATE_CORRUPT: "engine",
  /** Writing the journal, a checkpoint or a version to the stateDir failed (disk full, permissions). */
  E_PERSIST_FAILED: "operator",
  /** acceptStateLoss() was called for a mod whose saved state is not damaged (nothing to accept). */
  E_NOTHING_TO_ACCEPT: "operator",

  // --- the admin channel and the modhost command (the operator) ---
  /** The admin token is missing or wrong: the connection was refused (HTTP 401) before any WebSocket. */
  E_ADMIN_AUTH: "operator",
  /** The request's Host or Origin header is not allowed (HTTP 403): DNS rebinding or a browser page. */
  E_ADMIN_FORBIDDEN: "operator",
  /** An admin message is not valid JSON, has an unknown type, or a field is missing or wrong. */
  E_ADMIN_MESSAGE: "operator",
  /** Too many admin messages on one connection; wait and retry. */
  E_ADMIN_RATE_LIMITED: "operator",
  /** The admin server cannot be reached, or the connection closed before the answer came. */
  E_ADMIN_UNAVAILABLE: "operator",
  /** A deploy was refused before compiling: a file path outside the mod, too many or too large files, a name clash. */
  E_DEPLOY_REFUSED: "operator",
  /** The modhost command got an unknown flag, a missing argument or a bad value (exit code 2). */
  E_CLI_USAGE: "operator",
  /** The project file (modhost.config.json) is not JSON or a field is wrong (see `file` and `field`). */
  E_CONFIG_INVALID: "operator",

  // --- signed packages and the registry (the publisher or the operator) ---
  /** A minisign key file is malformed, encrypted, damaged, or would be overwritten. */
  E_KEY_INVALID: "operator",
  /** The trusted keys file is not valid (see `field`). */
  E_TRUST_INVALID: "operator",
  /** The registry cannot be reached, timed out, or answered 5xx; the live version keeps serving. */
  E_REGISTRY_UNAVAILABLE: "operator",
  /** The registry's answer is malformed, too large, or names a version or tarball that is not there. */
  E_REGISTRY_RESPONSE: "operator",
  /** The tarball's bytes do not match the registry's dist.integrity (sha512). */
  E_PACKAGE_INTEGRITY: "operator",
  /** The tarball is unreadable, truncated, too large, or holds a traversal path, a link or a device. */
  E_PACKAGE_INVALID: "mod",
  /** The signed listing is missing or malformed, omits or adds a file, or a file's hash differs. */
  E_LISTING_MISMATCH: "mod",
  /** The package's signature is malformed or does not verify with its key. */
  E_SIGNATURE_INVALID: "mod",
  /** The package is signed by a key that is not trusted, or not trusted for this mod. */
  E_KEY_UNTRUSTED: "operator",
  /** The package is signed by a key whose trust has expired. */
  E_KEY_EXPIRED: "operator",
  /** The package is signed by a key marked revoked. */
  E_KEY_REVOKED: "operator",
  /** The package's version is not newer than what the server has run: rollback is the operator's act. */
  E_DOWNGRADE: "operator",
  /** The package's mod.json or package.json names another mod or package than the one followed. */
  E_PACKAGE_NAME: "mod",
  /** requireSigned is on and the code did not come as a verified signed package. */
  E_UNSIGNED: "operator",

  // --- fleet releases on Redis (the operator) ---
  /** What Redis holds for the fleet (a release record, a counter, a heartbeat, a key's type) is malformed or hostile: treated as bad input, the server keeps its current versions. */
  E_FLEET_DATA: "operator",
  /** Redis cannot be reached (or was lost); servers keep their current versions and reconnect with backoff. */
  E_FLEET_UNAVAILABLE: "operator",
  /** Another operator or controller changed the release first (its epoch moved), or a release of the mod is already under way. */
  E_FLEET_CONFLICT: "operator",
  /** Another controller holds the release's lease: one controller drives a release at a time. */
  E_FLEET_LEASE: "operator",
  /** The command does not apply to the release's phase (e.g. promoting an aborted release, rolling back with nothing to go back to). */
  E_FLEET_STATE: "operator",
  /** The release was aborted (by its health gates or an operator); every server goes back to stable. */
  E_FLEET_ABORTED: "operator",

  // --- the engine itself ---
  /** The sandbox process could not be started or stopped answering. */
  E_SANDBOX_UNAVAILABLE: "engine",
  /** The sandbox process sent a frame the host cannot read (not JSON, an unknown message, a reply of the wrong shape or order); the process is restarted. */
  E_SANDBOX_PROTOCOL: "engine",
  /** Reading a mod's files failed for a reason of the machine, not of their content (out of file descriptors, EIO...); see the errno in the message. */
  E_IO: "engine",
  /** This Node.js has no isolated-vm release installed (unsupported Node, or node_modules installed under another Node). */
  E_NODE_UNSUPPORTED: "operator",
  /** An invariant inside the engine was broken: a bug in modhost. */
  E_INTERNAL: "engine",
} as const;

/** A stable modhost error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Who must act to fix an error. */
export type ErrorBlame = (typeof ERROR_CODES)[ErrorCode];

/**
 * One line per error code: how to fix it, for people. The CLI prints it under an error (with the
 * docs link), and docs/errors.md has it in its "fix" column (node docs/generate-errors.mjs).
 * test/docs/error-docs.test.ts fails, naming the code, when a code in ERROR_CODES has no hint.
 * Keyed by string, not ErrorCode: a hint may be written before its code lands (see the fleet).
 */
export const ERROR_HINTS: Readonly<Record<string, string>> = {
  // --- options and configuration ---
  E_OPTIONS_INVALID: "Fix the option the message names (its `field`); unknown keys are refused, so check the spelling against ModHostOptions.",
  E_MODS_DIR: "Create the mods folder (or point modsDir / `modhost serve <dir>` at an existing one) and make it readable.",
  E_EVENT_INVALID: "Give emit() (or each { event, payload } of emitMany()'s array) a non-empty event name of at most 256 characters and a payload JSON.stringify can write (no functions, BigInt, cycles).",
  E_CAPABILITY_FAILED: "Fix the game's capability function: it must return plain JSON data synchronously, within the capability time limit, and not throw.",
  E_HOST_CLOSED: "Do not call the host after close(); create a new ModHost.",
  E_MOD_NOT_FOUND: "Check the mod's name (`modhost status` or host.mods() lists the loaded ones); it is the `name` in its mod.json, not the folder's.",

  // --- loading a mod ---
  E_MANIFEST_INVALID: "Fix the field of mod.json the message names; `modhost check <dir>` shows it with its line.",
  E_MOD_DUPLICATE: "Give each mod folder a unique `name` in its mod.json, or remove the copy.",
  E_MOD_UNREADABLE: "Make the mod's files readable by the server's user (permissions, broken symbolic links).",
  E_LIMIT_EXCEEDS_CAP: "Lower `limits` in mod.json to the server's caps, or have the operator raise the caps (`limits` in the host options).",
  E_PERMISSION_NOT_GRANTED: "The operator grants it: add the permission to grants[\"<mod>\"] (host options or the project file); or remove it from mod.json's permissions.",
  E_PERMISSION_UNKNOWN: "Offer the capability (capabilities: { name: fn } in ModHost.create(), or the project file for serve/dev), or fix the permission's spelling in mod.json.",
  E_SYNTAX: "Fix the syntax at the position shown; `modhost check <dir>` prints it with a code frame.",
  E_TYPE: "Fix the type error at the position shown; if it names the game's events or capabilities, pass the game's .d.ts (--types, or list it in the mod's tsconfig.json).",
  E_IMPORT_REFUSED: "Import only files of the mod (relative paths) and @modhost/sdk; copy what you need from other packages into the mod.",
  E_IMPORT_NOT_FOUND: "Fix the relative import's path (with its .ts extension) so it names a file of the mod.",
  E_UNSAFE_CODE: "Remove the construct named (eval, new Function, import(), with...): the sandbox refuses it; plain functions and data do the same job.",
  E_SOURCE_TOO_COMPLEX: "Split the file or flatten the nesting the message names (long operator chains, deeply nested brackets).",
  E_TYPECHECK_BUDGET: "Simplify the types (deep conditional or recursive types), or have the operator raise typecheckBudgetMs / typecheckMemoryMb.",
  E_MOD_DEFINITION: "Make the entry file `export default defineMod({ ... })` (import { defineMod } from \"@modhost/sdk\").",
  E_MOD_LOAD_THREW: "Fix the top-level code at the position shown: it runs once when the mod loads; move work into init() or a handler.",

  // --- running a mod ---
  E_THREW: "Fix the handler at the position shown (the stack has the .ts frames); a thrown handler keeps the changes it made before throwing.",
  E_TIMEOUT: "Make the handler finish within the mod's callTimeoutMs (see the loop at the error's file:line, and what in the state keeps it going), or raise limits.callTimeoutMs in mod.json.",
  E_MEMORY_LIMIT: "Keep less in the state or in temporaries (look for a growing array or string), or raise limits.memoryMb in mod.json within the server's cap.",
  E_CAPABILITY_LIMIT: "Make fewer capability calls per event, or ask the game for smaller answers (the per-event caps are the operator's).",
  E_CAPABILITY_UNAVAILABLE: "Call capabilities (ctx.<name>) only inside an event handler, not at top level, in init(), migrate() or a state getter.",
  E_ASYNC_HANDLER: "Make the handler synchronous: remove `async` and `await`; capability calls already answer synchronously.",
  E_NOT_PLAIN_DATA: "Return and keep plain JSON data only: objects, arrays, strings, finite numbers, booleans, null (no Map, Date, class instances, cycles or NaN).",
  E_TOO_LARGE: "Return, log or keep less data (the cap is maxBytes, 1 MiB by default): paginate results or trim the state.",
  E_SANDBOX_CRASHED: "The mod's call brought the sandbox process down (often a native-level memory blow-up): look at what the event did; it was retried once.",
  E_QUARANTINED: "Fix what faulted (see the mod's earlier faults: timeouts, memory, crashes) and load a new version; it lifts the quarantine.",
  E_MOD_FAULTED: "Look at the mod's error in `modhost status` (why it failed to load or restore), fix it and reload.",
  E_REPLAY_DIVERGED: "A bug or a nondeterministic mod during a replay: report it with the journal; accepting the state loss (acceptStateLoss) restarts from the last checkpoint.",

  // --- swaps ---
  E_MIGRATION_REQUIRED: "Add migrate(old, fromVersion) to the new version returning the new state shape; `modhost check <dir> --against <live dir>` shows what changed.",
  E_MIGRATION_FAILED: "Fix migrate() (the message says whether it threw, timed out, or returned non-plain data); the old version keeps running meanwhile.",
  E_APPROVAL_REQUIRED: "Held, not refused: the operator reviews the new permission or limit and runs `modhost approve <mod>` (or host.approve()).",
  E_NO_PREVIOUS_VERSION: "Nothing to roll back to: this is the mod's first version on this server (`modhost versions <mod>` lists what there is).",
  E_NOTHING_TO_APPROVE: "Nothing is held for this mod: check the name, or `modhost status` for what is pending.",
  E_PROBATION_FAILED: "The new version erred or hit limits right after the swap and was rolled back: test it (`npm test`, `modhost dev`) and deploy a fixed version.",
  E_STAGE_FAILED: "Fix the new version's top-level code (it threw or timed out while being staged); the old version keeps running.",

  // --- persistence ---
  E_STATE_FORMAT: "Run a modhost at least as new as the one that wrote this stateDir, or point stateDir at another folder.",
  E_STATE_CORRUPT: "Look at stateDir/mods/<mod>/damaged/; accept the loss (acceptStateLoss / recovery.acceptLoss) to continue from the last good checkpoint.",
  E_PERSIST_FAILED: "Free disk space or fix the stateDir's permissions; the mod retries by itself and accepts events again once a write works.",
  E_NOTHING_TO_ACCEPT: "The mod's saved state is not damaged: there is no loss to accept.",

  // --- the admin channel and the modhost command ---
  E_ADMIN_AUTH: "Give the server's admin token: --token, MODHOST_TOKEN, or the token file `modhost serve` wrote.",
  E_ADMIN_FORBIDDEN: "Connect from the command line to localhost (or an allowed host); browsers and other hosts are refused on purpose.",
  E_ADMIN_MESSAGE: "Upgrade the modhost command to the server's version (the admin protocol changed), or fix the hand-written message.",
  E_ADMIN_RATE_LIMITED: "Send fewer admin requests: wait a moment and retry.",
  E_ADMIN_UNAVAILABLE: "Start the server (`modhost serve`) or fix --server / MODHOST_SERVER; the commands that follow a server reconnect by themselves.",
  E_DEPLOY_REFUSED: "Deploy only the mod's own files: relative paths inside the folder, within the file count and size limits.",
  E_CLI_USAGE: "Run `modhost <command> --help` for the flags and arguments.",
  E_CONFIG_INVALID: "Fix the field of modhost.config.json the message names (see `field`); unknown keys are refused.",

  // --- signed packages and the registry ---
  E_KEY_INVALID: "Use an unencrypted minisign key made by `modhost keygen`; it never overwrites a key file: give a new path.",
  E_TRUST_INVALID: "Fix the trusted keys file at the field named (key ids, mods, expiry dates).",
  E_REGISTRY_UNAVAILABLE: "Check the registry's URL and that it is up; the live versions keep serving and the follower retries with backoff.",
  E_REGISTRY_RESPONSE: "Check that the registry is an npm registry and that the version and its tarball were published completely.",
  E_PACKAGE_INTEGRITY: "Republish the package: its tarball does not match the registry's integrity (a corrupted upload or a tampered mirror).",
  E_PACKAGE_INVALID: "Rebuild the package with `modhost pack`: it holds a path, link or size the server refuses.",
  E_LISTING_MISMATCH: "Pack and sign again with `modhost pack`: a file changed after signing, or the listing was edited.",
  E_SIGNATURE_INVALID: "Pack and sign again with `modhost pack` and the right secret key.",
  E_KEY_UNTRUSTED: "The operator adds the publisher's public key to the trusted keys (for this mod), or the package is signed with a trusted key.",
  E_KEY_EXPIRED: "The operator renews the key's trust (a new expiry), or the publisher signs with a current key.",
  E_KEY_REVOKED: "Sign with another key: this one was revoked (the operator's trusted keys say so).",
  E_DOWNGRADE: "Publish a higher version; to go back to an older one, the operator runs `modhost rollback <mod> --to <version>`.",
  E_PACKAGE_NAME: "Make mod.json's name and package.json's name the ones the server follows.",
  E_UNSIGNED: "Deploy a signed package (`modhost pack` then publish), or have the operator turn requireSigned off for this server.",

  // --- fleet releases on Redis (codes of the fleet, hinted ahead of their merge) ---
  E_FLEET_DATA: "Inspect the fleet's keys in Redis (something else wrote them); servers keep their versions until the data is valid again.",
  E_FLEET_UNAVAILABLE: "Check that Redis is up and reachable; servers keep their current versions and reconnect with backoff.",
  E_FLEET_CONFLICT: "Someone else changed the release first: look at its status again and retry your command.",
  E_FLEET_LEASE: "Another controller drives this release (a `modhost release` process or a fleet server; `modhost fleet status` names it): pause, abort and promote need no lease; otherwise wait for its lease to expire.",
  E_FLEET_STATE: "The release is not in a phase this command applies to: look at its status for what it can do next.",
  E_FLEET_ABORTED: "Look at why the release was aborted (its health gates or an operator), fix the version and start a new release.",

  // --- the engine itself ---
  E_SANDBOX_UNAVAILABLE: "Check that the machine can start a Node child process (memory, process limits); MODHOST_DEBUG=1 shows the sandbox's output.",
  E_SANDBOX_PROTOCOL: "A bug in modhost or a mixed install (the sandbox built from another version): reinstall modhost and report it if it persists.",
  E_IO: "Fix the machine-level cause in the message (errno: too many open files, I/O error) and retry.",
  E_NODE_UNSUPPORTED: "Run a Node the engines field lists (20.19+, 22, 24, 26) and run npm install with that same Node.",
  E_INTERNAL: "A bug in modhost: report it with the message and, if you can, MODHOST_DEBUG=1 output.",
};

/** Where docs/errors.md is, for the link printed under an error (the repository's copy). */
export const ERROR_DOCS = "docs/errors.md";

/** The one-line fix for `code`, or undefined for a code without one. */
export function errorHint(code: string): string | undefined {
  return Object.hasOwn(ERROR_HINTS, code) ? ERROR_HINTS[code] : undefined;
}

/** The anchor docs/errors.md gives `code` (`e_threw`). */
export function errorAnchor(code: string): string {
  return code.toLowerCase();
}

/** The docs link for `code`: `docs/errors.md#e_threw`. */
export function errorDocsLink(code: string): string {
  return `${ERROR_DOCS}#${errorAnchor(code)}`;
}

/**
 * modhost: run untrusted TypeScript game mods in isolated-vm sandboxes and hot-patch them live.
 * This is the whole public API; nothing else in the package is reachable.
 */
export { ModHost } from "./host/mod-host.js";
export type { ModInfo, LogEvent, ModHostEvents, RecoveryEvent } from "./host/mod-host.js";
export type { VersionInfo, VersionHow } from "./host/version-ledger.js";
export type { RecoveryReport } from "./persist/recovery-report.js";
export type { ModHostOptions, HostLimits, CapabilityFunction } from "./host/host-options.js";
export type { EmitResult, FaultEvent, ModStatus } from "./model/mod-events.js";
export type { SwapReport, SwapChange, SwapPhases } from "./model/swap-report.js";
export { LATENCY_BUCKETS_MS } from "./host/host-metrics.js";
export type { MetricsSnapshot, ModMetrics } from "./host/host-metrics.js";
export { ModhostError, isModhostError } from "./errors/modhost-error.js";
export type { ErrorInfo, ErrorLocation } from "./errors/modhost-error.js";
export { ERROR_CODES } from "./errors/error-codes.js";
export type { ErrorCode, ErrorBlame } from "./errors/error-codes.js";
export { ERROR_HINTS, errorHint, errorDocsLink } from "./errors/error-hints.js";
export { formatDiagnostic } from "./errors/diagnostic.js";
export type { Diagnostic } from "./errors/diagnostic.js";
export { parseManifest } from "./manifest/mod-manifest.js";
export type { ModManifest } from "./manifest/mod-manifest.js";
export { modTsconfigTypes } from "./compile/mod-tsconfig-types.js";
export type { ModTsconfigTypes } from "./compile/mod-tsconfig-types.js";
export { AdminServer } from "./admin/admin-server.js";
export type { AdminServerOptions } from "./admin/admin-server.js";
export { AdminClient, adminUrl } from "./admin/admin-client.js";
export type { AdminClientOptions } from "./admin/admin-client.js";
export { PROTOCOL_VERSION, REQUEST_TYPES, STREAMS, CLOSE_CODES, ADMIN_PATH, METRICS_PATH, ADMIN_DEFAULTS } from "./admin/protocol.js";
export type { RequestType, RequestMap, Stream, StreamData, StreamEvent, ServerMessage, LogLine, HeapUse, RequestId } from "./admin/protocol.js";
export { verifyPackage, checkIntegrity } from "./registry/package-verifier.js";
export type { VerifyExpectations, VerifiedPackage } from "./registry/package-verifier.js";
export { parseTrustedKeys, loadTrustedKeys } from "./registry/trusted-keys.js";
export type { TrustedKeys, TrustedKey } from "./registry/trusted-keys.js";
export { RegistryClient, resolveSpec } from "./registry/registry-client.js";
export type { RegistryClientOptions, Packument, PackumentVersion, PackumentResult, RegistryCounters } from "./registry/registry-client.js";
export { PackageCache } from "./registry/package-cache.js";
export type { CachedRef } from "./registry/package-cache.js";
export type { PackageListing, ListedFile } from "./registry/package-listing.js";
export type { PublicKey } from "./registry/minisign-key.js";
export type { ModOrigin } from "./registry/mod-origin.js";
export type { RegistryOptions } from "./registry/registry-options.js";
export type { RegistryMetrics } from "./host/host-packages.js";

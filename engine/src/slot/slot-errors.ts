import { mapStackTrace } from "../compile/source-position.js";
import type { ModVersion } from "../compile/mod-version.js";
import type { ErrorCode } from "../errors/error-codes.js";
import type { ErrorInfo } from "../errors/modhost-error.js";

/** A plain ErrorInfo of one mod. */
export function slotError(mod: string, code: ErrorCode, message: string): ErrorInfo {
  return { code, message, mod };
}

/** An ErrorInfo whose position points at the mod's .ts source (of `version`) when a stack is known. */
export function mappedError(mod: string, version: ModVersion, code: string, message: string, stack?: string): ErrorInfo {
  const base = { code: code as ErrorCode, message, mod };
  if (stack === undefined) return base;
  const modules = version.modules;
  const mapped = mapStackTrace(stack, (file) => modules.find((m) => m.path === file));
  if (mapped.top === undefined) return base;
  // The whole mapped stack, not just the top frame: a throw in a helper is fixed in its caller.
  return { ...base, file: mapped.top.file, line: mapped.top.line, column: mapped.top.column, stack: mapped.stack };
}

/** Why a migrate() into `next` failed, from the sandbox's outcome. */
export function migrationError(mod: string, out: { kind: string; error?: { code: string; message: string; stack?: string } }, next: ModVersion): ErrorInfo {
  if (out.kind === "failed" && out.error) {
    const code = out.error.code === "E_MIGRATION_REQUIRED" ? "E_MIGRATION_REQUIRED" : "E_MIGRATION_FAILED";
    return mappedError(mod, next, code, `migrate() failed: ${out.error.message}`, out.error.stack);
  }
  const what = out.kind === "timeout" ? `ran past the ${next.spec.callTimeoutMs * 10} ms migration time limit` : out.kind === "memory" ? `ran past the ${next.spec.memoryMb} MB memory limit` : `was interrupted (${out.kind})`;
  return slotError(mod, "E_MIGRATION_FAILED", `migrate() ${what}; the old version and its state were kept`);
}

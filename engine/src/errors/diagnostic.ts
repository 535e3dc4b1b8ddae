/**
 * A finding about a mod's source: data, not an exception. Lines are 1-based and columns 0-based
 * (as esbuild and the TypeScript API report them); `file` is relative to the mod's folder with
 * forward slashes.
 */
export interface Diagnostic {
  readonly code: string;
  readonly severity: "error" | "warning";
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** For manifest findings: the JSON field, e.g. `permissions[1]`. */
  readonly field?: string;
}

/** Formats a diagnostic as `file:line:col code message`, the way compilers do. */
export function formatDiagnostic(d: Diagnostic): string {
  let where = d.file ?? "";
  if (d.line !== undefined) where += `:${d.line}:${(d.column ?? 0) + 1}`;
  if (d.field !== undefined) where += `#${d.field}`;
  return `${where ? `${where} ` : ""}${d.code} ${d.message}`;
}

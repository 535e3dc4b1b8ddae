/**
 * The CLI's JSON counts columns from 1, as its text output and editors do (`main.ts:5:14`).
 * Inside the engine (Diagnostic, ErrorInfo, the admin protocol) columns are 0-based, as esbuild
 * and the TypeScript API report them; this converts at the one place JSON leaves the command.
 * Only an error or a diagnostic is converted (an object with an `E_...` code, a message, and a
 * numeric line and column): a mod's state or result (`state --json`, `emit --json`) is the mod's
 * data, and a `{ line, column }` in it is left as it is.
 */
export function oneBasedColumns(value: unknown, depth = 0): unknown {
  // The CLI prints its own results, which are shallow; the bound only guards against a cycle.
  if (depth > 64 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => oneBasedColumns(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = oneBasedColumns(v, depth + 1);
  const found = value as { code?: unknown; message?: unknown; line?: unknown; column?: unknown };
  const isFinding = typeof found.code === "string" && /^E_[A-Z0-9_]+$/.test(found.code) && typeof found.message === "string";
  if (isFinding && typeof found.line === "number" && typeof found.column === "number") out.column = found.column + 1;
  return out;
}

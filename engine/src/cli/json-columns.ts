/**
 * The CLI's JSON counts columns from 1, as its text output and editors do (`main.ts:5:14`).
 * Inside the engine (Diagnostic, ErrorInfo, the admin protocol) columns are 0-based, as esbuild
 * and the TypeScript API report them; this converts at the one place JSON leaves the command.
 * A position is an object with a numeric `line` and a numeric `column`; the copy has `column + 1`.
 */
export function oneBasedColumns(value: unknown, depth = 0): unknown {
  // The CLI prints its own results, which are shallow; the bound only guards against a cycle.
  if (depth > 64 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => oneBasedColumns(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = oneBasedColumns(v, depth + 1);
  const position = value as { line?: unknown; column?: unknown };
  if (typeof position.line === "number" && typeof position.column === "number") out.column = position.column + 1;
  return out;
}

import type { ErrorInfo } from "modhost";

/**
 * What the matchers accept: anything with `ok` and, when it failed, `error` (an EmitResult, a
 * SwapReport), or an array of them (what `host.emit` resolves with).
 */
export type Outcome = { readonly ok: boolean; readonly error?: ErrorInfo; readonly mod?: string } | readonly Outcome[];

function isOutcome(value: unknown): value is { readonly ok: boolean; readonly error?: ErrorInfo; readonly mod?: string } {
  return typeof value === "object" && value !== null && typeof (value as { ok?: unknown }).ok === "boolean";
}

/** Is `value` a success (every element of an array, and at least one)? */
export function isOk(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.every(isOk);
  return isOutcome(value) && value.ok;
}

/** The error of a failed outcome (for an array: the first with `code`, else the first failure). */
export function outcomeError(value: unknown, code?: string): ErrorInfo | undefined {
  if (Array.isArray(value)) {
    const errors = value.map((v) => outcomeError(v)).filter((e): e is ErrorInfo => e !== undefined);
    return errors.find((e) => e.code === code) ?? errors[0];
  }
  return isOutcome(value) && !value.ok ? value.error : undefined;
}

/** `file:line:col` of an error (the column 1-based, as editors count), or "" when it has no file. */
export function errorLocation(error: ErrorInfo): string {
  if (error.file === undefined) return error.field !== undefined ? `#${error.field}` : "";
  let where = error.file;
  if (error.line !== undefined) where += `:${error.line}:${(error.column ?? 0) + 1}`;
  if (error.field !== undefined) where += `#${error.field}`;
  return where;
}

/** One error for people: `CODE message (at file:line:col)`, then its stack when it carries one. */
export function describeError(error: ErrorInfo): string {
  const where = errorLocation(error);
  const stack = (error as { readonly stack?: unknown }).stack;
  return `${error.code} ${error.message}${where !== "" ? ` (at ${where})` : ""}${typeof stack === "string" && stack !== "" ? `\n${stack}` : ""}`;
}

/**
 * An outcome for a failure message: `ok` with its value, or the error with code, message and
 * location; arrays one line per element; anything else as JSON.
 */
export function describeOutcome(value: Outcome | unknown): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "no results (no mod handles this event)";
    return value.map((v, i) => `[${i}] ${describeOutcome(v)}`).join("\n");
  }
  if (!isOutcome(value)) return `${safeJson(value)} (not a modhost result: it has no boolean "ok")`;
  const mod = value.mod !== undefined ? `${value.mod}: ` : "";
  if (value.ok) return `${mod}ok${"value" in value ? ` ${safeJson((value as { value?: unknown }).value)}` : ""}`;
  return `${mod}${value.error !== undefined ? describeError(value.error) : "failed (no error given)"}`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Cyclic or BigInt: the failure message still needs something to show.
    return String(value);
  }
}

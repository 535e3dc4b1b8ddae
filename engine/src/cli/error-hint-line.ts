import { errorDocsLink, errorHint } from "../errors/error-hints.js";
import type { Style } from "./terminal-style.js";

/**
 * The line printed under an error for people: `fix: <one line> (docs/errors.md#e_code)`, or
 * undefined for a code without a hint.
 */
export function formatErrorHint(code: string, style: Style, indent = "  "): string | undefined {
  const hint = errorHint(code);
  if (hint === undefined) return undefined;
  return `${indent}${style.gray("fix:")} ${hint} ${style.gray(`(${errorDocsLink(code)})`)}`;
}

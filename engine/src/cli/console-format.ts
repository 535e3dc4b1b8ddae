import type { EmitResult } from "../model/mod-events.js";
import { formatErrorLine } from "./report-format.js";
import type { Style } from "./terminal-style.js";

/** Longest answer shown on one line before it is cut (--json shows it whole). */
const MAX_VALUE_CHARS = 2000;

/**
 * The answers to an emitted event, one line per mod: `✓ mod version -> value` or `✗ mod version
 * CODE message`, then the time; or a line saying that no mod handles the event.
 */
export function formatEmitResults(event: string, results: readonly EmitResult[], timing: string, style: Style, handledBy: Readonly<Record<string, readonly string[]>> | undefined): string {
  if (results.length === 0) {
    const handled = handledBy === undefined ? [] : [...new Set(Object.values(handledBy).flat())].sort();
    return `${style.yellow("∅")} no running mod handles "${event}"${handledBy !== undefined ? ` (events handled: ${handled.join(", ") || "none"})` : ""} ${style.gray(timing)}`;
  }
  const lines = results.map((r) =>
    r.ok ? `${style.green("✓")} ${style.bold(r.mod)} ${r.version} -> ${preview(r.value)}` : `${style.red("✗")} ${style.bold(r.mod)} ${r.version} ${r.error !== undefined ? formatErrorLine(r.error, style) : "failed"}`,
  );
  lines.push(style.gray(timing));
  return lines.join("\n");
}

/** A mod's state, pretty-printed, then the time. */
export function formatState(state: unknown, timing: string, style: Style): string {
  return `${JSON.stringify(state, null, 2) ?? "undefined"}\n${style.gray(timing)}`;
}

/** `(1.2 ms on the server, 3.4 ms round trip)`. */
export function formatTiming(serverMs: number, roundTripMs: number): string {
  return `(${ms(serverMs)} on the server, ${ms(roundTripMs)} round trip)`;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}… (${text.length} characters; --json shows all)` : text;
}

function ms(value: number): string {
  return value >= 100 ? `${Math.round(value)} ms` : `${Math.round(value * 100) / 100} ms`;
}

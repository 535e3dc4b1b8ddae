import { formatOrigin } from "../registry/mod-origin.js";
import type { LogLine } from "../admin/protocol.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { ModInfo } from "../host/mod-host.js";
import type { VersionInfo } from "../host/version-ledger.js";
import type { RecoveryReport } from "../persist/recovery-report.js";
import type { FaultEvent } from "../model/mod-events.js";
import type { SwapChange, SwapReport } from "../model/swap-report.js";
import { codeFrame } from "./code-frame.js";
import { formatErrorHint } from "./error-hint-line.js";
import type { Style } from "./terminal-style.js";

/** Source text by mod-relative path, to show code frames for errors with a position. */
export type SourceLookup = (file: string) => string | undefined;

/** `file:line:col code message` for an error, with the column 1-based as editors count. */
export function formatErrorLine(error: ErrorInfo, style: Style, filePrefix = ""): string {
  let where = error.file !== undefined ? `${filePrefix}${error.file}` : "";
  if (where !== "" && error.line !== undefined) where += `:${error.line}:${(error.column ?? 0) + 1}`;
  // The field is named once: not as "#field" when the message already starts with it quoted.
  if (error.field !== undefined && !error.message.startsWith(`"${error.field}"`)) where += `${where === "" ? "" : "#"}${error.field}`;
  return `${where !== "" ? `${style.cyan(where)} ` : ""}${style.red(error.code)} ${withoutFileName(error)}`;
}

/** The message without a leading "<file> is " when the line already starts with that file ("mod.json:1:2 ... not valid JSON"). */
function withoutFileName(error: ErrorInfo): string {
  const prefix = error.file !== undefined ? `${error.file} is ` : undefined;
  return prefix !== undefined && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/**
 * A swap report for people: what happened (swapped, no change, rolled back, refused), the versions,
 * pause and total time, then each change by path; for a refusal, the error with its position and,
 * when `sources` has the file, a code frame.
 */
export function formatReport(report: SwapReport, style: Style, sources?: SourceLookup, filePrefix = ""): string {
  const lines: string[] = [];
  const times = style.gray(`(pause ${ms(report.pauseMs)}, total ${ms(report.totalMs)})`);
  const name = style.bold(report.mod);
  if (!report.ok && report.error?.code === "E_APPROVAL_REQUIRED") {
    // Held, not refused: the operator decides (modhost approve).
    lines.push(`${style.yellow("⏸")} ${name} ${report.from}: held for approval (the live version keeps running)`);
    lines.push(`  ${style.yellow(report.error.code)} ${report.error.message}`);
  } else if (!report.ok) {
    lines.push(`${style.red("✗")} ${name} ${report.from || "(new)"}: refused`);
    if (report.error !== undefined) {
      lines.push(`  ${formatErrorLine(report.error, style, filePrefix)}`);
      const text = report.error.file !== undefined ? sources?.(report.error.file) : undefined;
      if (text !== undefined && report.error.line !== undefined) lines.push(indent(codeFrame(text, report.error.line, report.error.column ?? 0, style), "  "));
      const hint = formatErrorHint(report.error.code, style, "  ");
      if (hint !== undefined) lines.push(hint);
    }
  } else if (report.kind === "noop") {
    lines.push(`${style.gray("=")} ${name} ${report.to}: no change to swap (formatting or comments only) ${style.gray(`(${ms(report.totalMs)})`)}`);
  } else if (report.kind === "rollback") {
    lines.push(`${style.yellow("↩")} ${name} ${report.from} -> ${report.to}: rolled back ${times}`);
  } else if (report.from === "") {
    lines.push(`${style.green("✓")} ${name} ${report.to}: loaded ${style.gray(`(${ms(report.totalMs)})`)}`);
  } else {
    lines.push(`${style.green("✓")} ${name} ${report.from} -> ${report.to}: swapped ${times}`);
  }
  for (const change of report.changes) lines.push(`  ${formatChange(change, style)}`);
  return lines.join("\n");
}

function formatChange(change: SwapChange, style: Style): string {
  if (change.kind === "added") return `${style.green("+")} ${change.path}`;
  if (change.kind === "removed") return `${style.red("-")} ${change.path}`;
  return `${style.yellow("~")} ${change.path}`;
}

/** The mods of a server as a table: name, version, status, hash; errors under their mod. */
export function formatMods(mods: readonly ModInfo[], style: Style): string {
  if (mods.length === 0) return style.gray("no mods");
  const rows = mods.map((m) => [m.name, m.version || "-", m.status, m.hash.slice(0, 12) || "-", m.origin !== undefined ? formatOrigin(m.origin) : "-"]);
  const header = ["MOD", "VERSION", "STATUS", "HASH", "ORIGIN"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  const out = [style.bold(pad(header))];
  mods.forEach((mod, i) => {
    const row = pad(rows[i] ?? []);
    out.push(mod.status === "running" ? row : mod.status === "pending-approval" || mod.status === "starting" ? style.yellow(row) : style.red(row));
    if (mod.error !== undefined) out.push(`  ${formatErrorLine(mod.error, style)}`);
    if (mod.pending !== undefined) out.push(style.yellow(`  pending: ${mod.pending.version} (${mod.pending.hash.slice(0, 12)})${mod.pending.reason !== undefined ? `: ${mod.pending.reason}` : ""}`));
    if (mod.recovery !== undefined) out.push(...formatRecovery(mod.recovery, style).map((line) => `  ${line}`));
  });
  return out.join("\n");
}

/** What recovery found for a mod at start-up: one summary line, then damage, files kept aside and warnings. */
export function formatRecovery(report: RecoveryReport, style: Style): string[] {
  const from = `${report.checkpoint ?? "?"} + ${report.replayed} journal records`;
  const summary =
    report.outcome === "fresh"
      ? style.gray("recovery: no saved state (started with init())")
      : report.outcome === "recovered"
        ? style.gray(`recovery: recovered from ${from}`)
        : report.outcome === "loss-accepted"
          ? style.yellow(`recovery: loss accepted; continued from ${from}`)
          : style.red("recovery: saved state damaged or incomplete (accept the loss to continue from the last good point)");
  const lines = [summary];
  if (report.tailCut !== undefined) lines.push(style.yellow(`  torn tail cut: ${report.tailCut.file} at byte ${report.tailCut.offset} (${report.tailCut.reason})`));
  for (const damage of report.damage) lines.push(style.red(`  damage: ${damage}`));
  for (const path of report.keptAside) lines.push(style.gray(`  kept aside: ${path}`));
  for (const warning of report.warnings) lines.push(style.yellow(`  warning: ${warning}`));
  return lines;
}

/** Is this report a version held for the operator's approval (not a refusal)? */
export function isHeld(report: SwapReport): boolean {
  return !report.ok && report.error?.code === "E_APPROVAL_REQUIRED";
}

/** A mod's versions as a table, oldest first: the live one marked `*`, the held one `pending`. */
export function formatVersions(versions: readonly VersionInfo[], style: Style): string {
  const header = ["", "VERSION", "HASH", "SOURCE", "WHEN", "HOW", "BY"];
  const rows = versions.map((v) => [v.current ? "*" : v.pending ? "?" : "", v.version, v.hash.slice(0, 12), v.source, v.at.replace("T", " ").slice(0, 19), v.pending ? "pending" : v.how, v.by ?? "-"]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  const out = [style.bold(pad(header))];
  versions.forEach((v, i) => {
    const row = pad(rows[i] ?? []);
    out.push(v.current ? style.green(row) : v.pending ? style.yellow(row) : row);
    if (v.pending && v.reason !== undefined) out.push(style.yellow(`  held: ${v.reason}`));
  });
  out.push(style.gray("* live   ? held for approval (modhost approve)   older rows: modhost rollback <mod> --to <version>"));
  return out.join("\n");
}

/** One log line: time, mod, level, message. */
export function formatLogLine(line: LogLine, style: Style): string {
  const time = new Date(line.time).toISOString().slice(11, 23);
  const level = line.level === "error" ? style.red(line.level) : line.level === "warn" ? style.yellow(line.level) : style.gray(line.level);
  return `${style.gray(time)} ${style.cyan(`[${line.mod}]`)} ${level} ${line.message}`;
}

/** One fault: mod, version, code, message, event, and whether it was quarantined. */
export function formatFault(fault: FaultEvent, style: Style): string {
  const where = fault.file !== undefined ? ` ${style.cyan(`${fault.file}${fault.line !== undefined ? `:${fault.line}:${(fault.column ?? 0) + 1}` : ""}`)}` : "";
  return `${style.red("fault")} ${style.bold(fault.mod)} ${fault.version}${where} ${style.red(fault.code)} ${fault.message}${fault.event !== undefined ? style.gray(` (event ${fault.event})`) : ""}${fault.quarantined ? style.red(" [quarantined]") : ""}`;
}

function ms(value: number): string {
  return value >= 100 ? `${Math.round(value)} ms` : `${Math.round(value * 100) / 100} ms`;
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}

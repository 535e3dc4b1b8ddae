import { createHash } from "node:crypto";
import type { Diagnostic } from "../errors/diagnostic.js";
import type { FileCompilation } from "./compile-file.js";
import type { ImportReference } from "./find-imports.js";

/**
 * The file format of one disk cache entry: a header line `<key> <sha256 of the body>` and the
 * body, the `FileCompilation` as JSON. The key in the header catches a file renamed or copied
 * onto the wrong name; the checksum catches truncation and bit rot, which JSON parsing alone
 * would miss inside a string (and a flipped byte in `js` would run as the mod's code).
 * Bump `DISK_ENTRY_FORMAT` (part of every key) when this layout or `FileCompilation` changes.
 */
export const DISK_ENTRY_FORMAT = "modhost-disk-entry-1";

/** Serialises an entry for `key`. */
export function encodeDiskEntry(key: string, entry: FileCompilation): string {
  const body = JSON.stringify({ js: entry.js, sourceMap: entry.sourceMap, imports: entry.imports, diagnostics: entry.diagnostics });
  return `${key} ${sha256(body)}\n${body}`;
}

/** Parses an entry read for `key`; undefined when it is damaged or not what `encodeDiskEntry` wrote. */
export function decodeDiskEntry(key: string, text: string): FileCompilation | undefined {
  const newline = text.indexOf("\n");
  if (newline === -1) return undefined;
  const [headerKey, sum] = text.slice(0, newline).split(" ");
  const body = text.slice(newline + 1);
  if (headerKey !== key || sum !== sha256(body)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    // The checksum matched, so this is a foreign writer's file, not damage: still just a miss.
    return undefined;
  }
  return isFileCompilation(value) ? value : undefined;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFileCompilation(value: unknown): value is FileCompilation {
  return (
    isRecord(value) &&
    typeof value["js"] === "string" &&
    typeof value["sourceMap"] === "string" &&
    Array.isArray(value["imports"]) &&
    value["imports"].every(isImportReference) &&
    Array.isArray(value["diagnostics"]) &&
    value["diagnostics"].every(isDiagnostic)
  );
}

function isImportReference(value: unknown): value is ImportReference {
  return (
    isRecord(value) &&
    typeof value["specifier"] === "string" &&
    typeof value["typeOnly"] === "boolean" &&
    typeof value["line"] === "number" &&
    typeof value["column"] === "number"
  );
}

function isDiagnostic(value: unknown): value is Diagnostic {
  return (
    isRecord(value) &&
    typeof value["code"] === "string" &&
    (value["severity"] === "error" || value["severity"] === "warning") &&
    typeof value["message"] === "string" &&
    optional(value["file"], "string") &&
    optional(value["line"], "number") &&
    optional(value["column"], "number") &&
    optional(value["field"], "string")
  );
}

function optional(value: unknown, type: "string" | "number"): boolean {
  return value === undefined || typeof value === type;
}

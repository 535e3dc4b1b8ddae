import type { CompiledModule } from "./compiled-module.js";
import { decodeMappings, type MappingSegment } from "./source-map-mappings.js";

/** A position in a mod's .ts file: `file` relative to the mod folder, line 1-based, column 0-based. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

interface DecodedMap {
  readonly lines: MappingSegment[][];
  readonly sources: readonly string[];
}

// Decoding is paid once per module, on its first error, not at compile time: most modules never
// throw. Weak keys: a replaced module's decoded map goes with it.
const decoded = new WeakMap<CompiledModule, DecodedMap>();

function decode(module: CompiledModule): DecodedMap {
  let map = decoded.get(module);
  if (map === undefined) {
    const raw = JSON.parse(module.sourceMap) as { mappings?: unknown; sources?: unknown };
    const mappings = typeof raw.mappings === "string" ? raw.mappings : "";
    const sources = Array.isArray(raw.sources) ? raw.sources.map((s) => (typeof s === "string" ? s : module.path)) : [];
    map = { lines: decodeMappings(mappings), sources };
    decoded.set(module, map);
  }
  return map;
}

/**
 * Maps a position in `module.js` (line 1-based, column 0-based) to the .ts position it was
 * compiled from: the closest mapping at or before the column on that line (V8 points into the
 * middle of expressions), else the line's first mapping. Undefined when the line has none.
 */
export function originalPosition(module: CompiledModule, line: number, column: number): SourcePosition | undefined {
  const map = decode(module);
  const segments = map.lines[line - 1];
  if (segments === undefined || segments.length === 0) return undefined;

  // Binary search for the last segment whose generated column is <= column.
  let low = 0;
  let high = segments.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if ((segments[mid] as MappingSegment)[0] <= column) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  // Segments without a source position map generated-only code; use the nearest one with one.
  for (let i = Math.max(found, 0); i >= 0; i--) {
    const position = toPosition(map, segments[i] as MappingSegment, module.path);
    if (position !== undefined) return position;
  }
  for (const segment of segments) {
    const position = toPosition(map, segment, module.path);
    if (position !== undefined) return position;
  }
  return undefined;
}

function toPosition(map: DecodedMap, segment: MappingSegment, fallbackFile: string): SourcePosition | undefined {
  if (segment.length === 1) return undefined;
  return { file: map.sources[segment[1]] ?? fallbackFile, line: segment[2] + 1, column: segment[3] };
}

/** A V8 stack trace rewritten for the mod's author: see `mapStackTrace`. */
export interface MappedStack {
  readonly stack: string;
  /** The innermost frame in the mod's code, as a .ts position (column 0-based, as in `Diagnostic`). */
  readonly top?: SourcePosition;
}

// `    at fn (file:LINE:COL)` (the greedy name keeps names like `new Foo` or `Object.<anonymous>`
// whole) and `    at file:LINE:COL`.
const FRAME_WITH_NAME = /^(\s*)at (.+) \(([^()]+):(\d+):(\d+)\)$/;
const FRAME_BARE = /^(\s*)at ([^\s()]+):(\d+):(\d+)$/;
const FRAME = /^\s*at /;

/**
 * Rewrites the frames of a V8 stack trace thrown inside the sandbox from positions in the
 * compiled JS to positions in the mod's .ts files. `lookup` returns the compiled module for a
 * frame's file name (the sandbox compiles each module with `CompiledModule.path` as filename);
 * frames it does not know (the prelude, the SDK runtime, engine internals) are dropped, and lines
 * that are not frames (the error message) are kept. Frames print V8's 1-based columns; `top`
 * uses 0-based columns like every `Diagnostic`.
 */
export function mapStackTrace(stack: string, lookup: (file: string) => CompiledModule | undefined): MappedStack {
  const out: string[] = [];
  let top: SourcePosition | undefined;
  for (const line of stack.split("\n")) {
    if (!FRAME.test(line)) {
      out.push(line);
      continue;
    }
    let indent: string;
    let name: string | undefined;
    let file: string;
    let lineText: string;
    let columnText: string;
    const named = FRAME_WITH_NAME.exec(line);
    const bare = named === null ? FRAME_BARE.exec(line) : null;
    if (named !== null) {
      [, indent = "", name, file = "", lineText = "", columnText = ""] = named;
    } else if (bare !== null) {
      [, indent = "", file = "", lineText = "", columnText = ""] = bare;
    } else {
      continue; // `at fn (native)`, `at <anonymous>`: never the mod's code.
    }
    const module = lookup(file);
    if (module === undefined) continue;
    const position = originalPosition(module, Number(lineText), Number(columnText) - 1);
    if (position === undefined) {
      // A mod frame the map does not cover: still the mod's, so keep it as V8 printed it.
      out.push(line);
      continue;
    }
    top ??= position;
    const where = `${position.file}:${position.line}:${position.column + 1}`;
    out.push(name === undefined ? `${indent}at ${where}` : `${indent}at ${name} (${where})`);
  }
  const result = out.join("\n");
  return top === undefined ? { stack: result } : { stack: result, top };
}

/**
 * JSON from untrusted peers (admin messages, mod.json, a server's answers) parsed within bounds:
 * the text's size and nesting depth are checked by one linear scan BEFORE JSON.parse, so nothing
 * recursive (JSON.stringify for an error message, a schema walk, structured clone) ever meets a
 * value nested deeper than the caller allows. V8's JSON.parse itself is iterative, but almost
 * everything that walks its result is not: a 100k-deep array overflows the stack there.
 */

/** Why a text was not parsed: too large, too deep, or not JSON (with the offset when known). */
export type BoundedJsonFailure = { readonly problem: "size" | "depth" | "syntax"; readonly message: string; readonly offset?: number };

/** The parsed value, or why there is none. */
export type BoundedJsonResult = { readonly ok: true; readonly value: unknown } | ({ readonly ok: false } & BoundedJsonFailure);

/** Limits of {@link parseBoundedJson}. */
export interface JsonBounds {
  /** Most UTF-16 code units of text (checked first, in O(1)). */
  readonly maxChars: number;
  /** Deepest nesting of arrays and objects (a scalar is depth 0, `[]` is depth 1). */
  readonly maxDepth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * The offset of the first `[` or `{` (outside strings) that opens a level deeper than `maxDepth`,
 * or -1 when there is none. Linear in the text, constant memory, no recursion; it does not check
 * that the text is JSON (JSON.parse does that afterwards).
 */
export function excessiveNesting(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return i;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return -1;
}

/** Parses `text` as JSON if it is within `bounds`; never throws. */
export function parseBoundedJson(text: string, bounds: JsonBounds): BoundedJsonResult {
  if (text.length > bounds.maxChars) {
    return { ok: false, problem: "size", message: `it is ${text.length} characters long, over the limit of ${bounds.maxChars}` };
  }
  const deep = excessiveNesting(text, bounds.maxDepth);
  if (deep >= 0) return { ok: false, problem: "depth", message: `it nests arrays/objects more than ${bounds.maxDepth} levels deep (at offset ${deep})`, offset: deep };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : "unreadable";
    const at = /position (\d+)/.exec(message);
    return { ok: false, problem: "syntax", message: truncate(message, 200), ...(at ? { offset: Number(at[1]) } : {}) };
  }
}

/**
 * A short description of any value for an error message, built without recursion and without
 * calling anything the value defines (no toString, toJSON or getters): a scalar as JSON cut to
 * `maxChars`, a container by its kind and size.
 */
export function describeValue(value: unknown, maxChars = 60): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(truncate(value, maxChars)) + (value.length > maxChars ? ` (${value.length} characters)` : "");
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    case "undefined":
      return "nothing";
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? "" : "s"}`;
      return "an object";
  }
}

/** `text` cut to `max` characters, with "..." when cut. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

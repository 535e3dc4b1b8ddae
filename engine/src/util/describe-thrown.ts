/** Longest description describeThrown returns (a game can throw a huge message). */
export const DESCRIBE_MAX = 1024;

/**
 * A short text for any value a game's code threw (or a Promise rejected with), that never throws
 * itself: no `instanceof` (a Proxy's getPrototypeOf trap), no String() on objects (toString,
 * Symbol.toPrimitive), and every property read is guarded. Errors give their `message` when it
 * is a string; other objects their Object.prototype.toString tag; primitives their text.
 */
export function describeThrown(value: unknown, max = DESCRIBE_MAX): string {
  return clip(describe(value), max);
}

function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
    case "bigint":
    case "symbol":
    case "undefined":
      return String(value);
    default:
      break;
  }
  if (value === null) return "null";
  const message = guarded(() => (value as { message?: unknown }).message);
  if (typeof message === "string") return message;
  const tag = guarded(() => Object.prototype.toString.call(value));
  return typeof tag === "string" ? `a thrown ${tag}` : "a thrown value that could not be described";
}

/** Runs a read of untrusted (game) data; a throw is itself described as "unreadable". */
function guarded<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    // The read itself failed: the caller falls back to a coarser description, which is the report.
    return undefined;
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[truncated]` : text;
}

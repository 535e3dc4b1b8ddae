import type { ErrorCode } from "../errors/error-codes.js";
import { ERROR_CODES } from "../errors/error-codes.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import { describeValue, parseBoundedJson, truncate } from "../util/bounded-json.js";
import { STREAMS, type ServerMessage } from "./protocol.js";

/** Deepest nesting a server message may have (the deepest real one, a swap event, is ~5). */
export const MAX_SERVER_MESSAGE_DEPTH = 64;
/** Longest server text (error message, code) a client passes on. */
const MAX_TEXT_CHARS = 16 * 1024;

/**
 * Parses a message from the admin server (the client's edge): size and nesting depth are checked
 * before parsing (a hostile server cannot make the client recurse), the envelope is checked
 * strictly (type, id, error shape, stream name), bad values are described without walking them;
 * results and event data are passed on as the server's documented JSON. Throws an Error saying
 * what is wrong.
 */
export function parseServerMessage(text: string, maxChars: number = Number.MAX_SAFE_INTEGER): ServerMessage {
  const parsed = parseBoundedJson(text, { maxChars, maxDepth: MAX_SERVER_MESSAGE_DEPTH });
  if (!parsed.ok) throw new Error(`the server's message is refused: ${parsed.message}`);
  const raw = parsed.value;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("the server sent something other than a JSON object");
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case "welcome":
      if (typeof m.protocol !== "number" || typeof m.server !== "string") throw new Error("malformed welcome message");
      return { type: "welcome", protocol: m.protocol, server: m.server };
    case "result":
      if (!isId(m.id)) throw new Error("a result without a valid id");
      return { type: "result", id: m.id, result: m.result };
    case "error":
      if (!isId(m.id) && m.id !== null) throw new Error("an error with an invalid id");
      return { type: "error", id: m.id, error: errorInfo(m.error) };
    case "event":
      if (typeof m.stream !== "string" || !Object.hasOwn(STREAMS, m.stream)) throw new Error(`an event of unknown stream ${describeValue(m.stream)}`);
      if (typeof m.data !== "object" || m.data === null) throw new Error("an event without data");
      return { type: "event", stream: m.stream, data: m.data } as ServerMessage;
    default:
      throw new Error(`unknown message type ${describeValue(m.type)}`);
  }
}

function isId(value: unknown): value is string | number {
  return typeof value === "string" || (typeof value === "number" && Number.isSafeInteger(value));
}

function errorInfo(value: unknown): ErrorInfo {
  if (typeof value !== "object" || value === null) throw new Error("an error message without an error");
  const e = value as Record<string, unknown>;
  if (typeof e.code !== "string" || typeof e.message !== "string") throw new Error("an error without code and message");
  // A code this client does not know (a newer server) is kept as the server's own words.
  const code = (Object.hasOwn(ERROR_CODES, e.code) ? e.code : "E_INTERNAL") as ErrorCode;
  const text = truncate(e.message, MAX_TEXT_CHARS);
  const message = code === e.code ? text : `${truncate(e.code, 64)}: ${text}`;
  return {
    code,
    message,
    ...(typeof e.mod === "string" ? { mod: truncate(e.mod, 256) } : {}),
    ...(typeof e.file === "string" ? { file: truncate(e.file, 1024) } : {}),
    ...(typeof e.line === "number" ? { line: e.line } : {}),
    ...(typeof e.column === "number" ? { column: e.column } : {}),
    ...(typeof e.field === "string" ? { field: truncate(e.field, 256) } : {}),
  };
}

/** The result field each request type's result must have, and what it must be. */
const RESULT_SHAPES: Readonly<Record<string, readonly [field: string, kind: "array" | "object" | "boolean" | "number"]>> = {
  status: ["mods", "array"],
  reload: ["ok", "boolean"],
  rollback: ["ok", "boolean"],
  approve: ["ok", "boolean"],
  deploy: ["ok", "boolean"],
  logs: ["lines", "array"],
  metrics: ["metrics", "object"],
  subscribe: ["streams", "array"],
  unsubscribe: ["streams", "array"],
  emit: ["results", "array"],
  state: ["ms", "number"],
  versions: ["versions", "array"],
  events: ["mods", "object"],
};

/** Checks that a result has the shape its request type promises; throws an Error otherwise. */
export function checkResult(type: string, result: unknown): void {
  const shape = RESULT_SHAPES[type];
  if (shape === undefined) throw new Error(`no result shape known for "${type}"`);
  if (typeof result !== "object" || result === null) throw new Error(`the server answered "${type}" with something other than an object`);
  const [field, kind] = shape;
  const value = (result as Record<string, unknown>)[field];
  const ok = kind === "array" ? Array.isArray(value) : kind === "boolean" ? typeof value === "boolean" : kind === "number" ? typeof value === "number" : typeof value === "object" && value !== null;
  if (!ok) throw new Error(`the server's answer to "${type}" has no ${kind} "${field}"`);
}

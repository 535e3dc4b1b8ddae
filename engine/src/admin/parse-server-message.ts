import type { ErrorCode } from "../errors/error-codes.js";
import { ERROR_CODES } from "../errors/error-codes.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import { STREAMS, type ServerMessage } from "./protocol.js";

/**
 * Parses a message from the admin server (the client's edge): the envelope is checked strictly
 * (type, id, error shape, stream name); results and event data are passed on as the server's
 * documented JSON. Throws an Error saying what is wrong.
 */
export function parseServerMessage(text: string): ServerMessage {
  const raw: unknown = JSON.parse(text);
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
      if (typeof m.stream !== "string" || !Object.hasOwn(STREAMS, m.stream)) throw new Error(`an event of unknown stream ${JSON.stringify(m.stream)}`);
      if (typeof m.data !== "object" || m.data === null) throw new Error("an event without data");
      return { type: "event", stream: m.stream, data: m.data } as ServerMessage;
    default:
      throw new Error(`unknown message type ${JSON.stringify(m.type)}`);
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
  const message = code === e.code ? e.message : `${e.code}: ${e.message}`;
  return {
    code,
    message,
    ...(typeof e.mod === "string" ? { mod: e.mod } : {}),
    ...(typeof e.file === "string" ? { file: e.file } : {}),
    ...(typeof e.line === "number" ? { line: e.line } : {}),
    ...(typeof e.column === "number" ? { column: e.column } : {}),
    ...(typeof e.field === "string" ? { field: e.field } : {}),
  };
}

/** The result field each request type's result must have, and what it must be. */
const RESULT_SHAPES: Readonly<Record<string, readonly [field: string, kind: "array" | "object" | "boolean"]>> = {
  status: ["mods", "array"],
  reload: ["ok", "boolean"],
  rollback: ["ok", "boolean"],
  approve: ["ok", "boolean"],
  deploy: ["ok", "boolean"],
  logs: ["lines", "array"],
  metrics: ["metrics", "object"],
  subscribe: ["streams", "array"],
  unsubscribe: ["streams", "array"],
};

/** Checks that a result has the shape its request type promises; throws an Error otherwise. */
export function checkResult(type: string, result: unknown): void {
  const shape = RESULT_SHAPES[type];
  if (shape === undefined) throw new Error(`no result shape known for "${type}"`);
  if (typeof result !== "object" || result === null) throw new Error(`the server answered "${type}" with something other than an object`);
  const [field, kind] = shape;
  const value = (result as Record<string, unknown>)[field];
  const ok = kind === "array" ? Array.isArray(value) : kind === "boolean" ? typeof value === "boolean" : typeof value === "object" && value !== null;
  if (!ok) throw new Error(`the server's answer to "${type}" has no ${kind} "${field}"`);
}

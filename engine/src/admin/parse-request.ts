import type { ErrorInfo } from "../errors/modhost-error.js";
import { safeMessageOf } from "../util/safe-message.js";
import { describeValue, parseBoundedJson, truncate } from "../util/bounded-json.js";
import { REQUEST_TYPES, STREAMS, type AdminRequest, type RequestId, type RequestType, type Stream } from "./protocol.js";

/** A request, or why the message is not one (with its id when the id could be read). */
export type ParsedRequest = { readonly ok: true; readonly request: AdminRequest } | { readonly ok: false; readonly id: RequestId | null; readonly error: ErrorInfo };

/** The parameters each request type accepts (besides `id` and `type`), and which are required. */
const PARAMS: Readonly<Record<RequestType, Readonly<Record<string, "required" | "optional">>>> = {
  status: {},
  reload: { mod: "required", by: "optional" },
  rollback: { mod: "required", to: "optional", by: "optional" },
  approve: { mod: "required", by: "optional" },
  deploy: { files: "optional", package: "optional", by: "optional" },
  logs: { mod: "optional", limit: "optional" },
  metrics: {},
  emit: { event: "required", payload: "optional", mod: "optional" },
  state: { mod: "required" },
  versions: { mod: "required" },
  events: {},
  subscribe: { streams: "required", mod: "optional" },
  unsubscribe: { streams: "optional" },
};

const MOD_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MAX_LOG_LIMIT = 10_000;
/** Deepest nesting a request may have: deploy's files are 2 deep, an emit's payload may be up to 30. */
export const MAX_MESSAGE_DEPTH = 32;
/** Longest key or path quoted back in an error message. */
const QUOTE_CHARS = 64;

class MessageError extends Error {}

/**
 * Parses one admin message (the text of a WebSocket frame) against the protocol's schema: a JSON
 * object with a valid `id`, a known `type`, exactly that type's parameters with the right types.
 * The text is checked for size (`maxChars`) and nesting depth (MAX_MESSAGE_DEPTH) before it is
 * parsed, and bad values are described by kind and a short preview, so no message can make the
 * parser recurse or build a huge error. Never throws: a bad message comes back as an
 * E_ADMIN_MESSAGE error naming the field (E_INTERNAL if the parser itself fails).
 */
export function parseRequest(text: string, maxChars: number = Number.MAX_SAFE_INTEGER): ParsedRequest {
  try {
    return parseChecked(text, maxChars);
  } catch (err) {
    return { ok: false, id: null, error: { code: "E_INTERNAL", message: `the server could not read the message: ${truncate(safeMessageOf(err), 200)}` } };
  }
}

function parseChecked(text: string, maxChars: number): ParsedRequest {
  const parsed = parseBoundedJson(text, { maxChars, maxDepth: MAX_MESSAGE_DEPTH });
  if (!parsed.ok) return fail(null, parsed.problem === "syntax" ? `the message is not JSON: ${parsed.message}` : `the message is refused: ${parsed.message}`);
  const raw = parsed.value;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail(null, "a message must be a JSON object { id, type, ... }");
  const message = raw as Record<string, unknown>;
  const id = parseId(message.id);
  if (id === undefined) return fail(null, `"id" must be a string of 1-64 characters or a safe integer`, "id");
  const type = message.type;
  if (typeof type !== "string" || !Object.hasOwn(REQUEST_TYPES, type)) {
    return fail(id, `unknown message type ${describeValue(type)} (known: ${Object.keys(REQUEST_TYPES).join(", ")})`, "type");
  }
  const requestType = type as RequestType;
  const allowed = PARAMS[requestType];
  for (const key of Object.keys(message)) {
    if (key !== "id" && key !== "type" && !Object.hasOwn(allowed, key)) {
      return fail(id, `"${requestType}" has no field ${describeValue(key, QUOTE_CHARS)} (allowed: ${["id", "type", ...Object.keys(allowed)].join(", ")})`, truncate(key, QUOTE_CHARS));
    }
  }
  for (const [key, presence] of Object.entries(allowed)) {
    if (presence === "required" && message[key] === undefined) return fail(id, `"${requestType}" needs the field "${key}"`, key);
  }
  try {
    return { ok: true, request: buildRequest(id, requestType, message) };
  } catch (err) {
    if (!(err instanceof MessageError)) throw err;
    return fail(id, err.message, fieldOf(err.message));
  }
}

function buildRequest(id: RequestId, type: RequestType, m: Record<string, unknown>): AdminRequest {
  switch (type) {
    case "status":
    case "metrics":
    case "events":
      return { id, type };
    case "state":
    case "versions":
      return { id, type, mod: modName(m.mod) };
    case "emit":
      return {
        id,
        type,
        event: eventName(m.event),
        ...(m.payload !== undefined ? { payload: m.payload } : {}),
        ...(m.mod !== undefined ? { mod: modName(m.mod) } : {}),
      };
    case "reload":
    case "approve":
      return { id, type, mod: modName(m.mod), ...by(m.by) };
    case "rollback":
      return { id, type, mod: modName(m.mod), ...(m.to !== undefined ? { to: shortText("to", m.to) } : {}), ...by(m.by) };
    case "deploy":
      if ((m.files === undefined) === (m.package === undefined)) throw new MessageError(`"deploy" needs either "files" (a mod's files) or "package" (a packed tarball, base64), not both`);
      return m.package !== undefined ? { id, type, package: packageText(m.package), ...by(m.by) } : { id, type, files: fileMap(m.files), ...by(m.by) };
    case "logs":
      return {
        id,
        type,
        ...(m.mod !== undefined ? { mod: modName(m.mod) } : {}),
        ...(m.limit !== undefined ? { limit: limit(m.limit) } : {}),
      };
    case "subscribe":
      return { id, type, streams: streams(m.streams), ...(m.mod !== undefined ? { mod: modName(m.mod) } : {}) };
    case "unsubscribe":
      return { id, type, ...(m.streams !== undefined ? { streams: streams(m.streams) } : {}) };
  }
}

function parseId(value: unknown): RequestId | undefined {
  if (typeof value === "string" && value.length >= 1 && value.length <= 64) return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  return undefined;
}

function modName(value: unknown): string {
  if (typeof value !== "string" || !MOD_NAME.test(value)) throw new MessageError(`"mod" must be a mod name (lowercase letters, digits, ".", "_", "-"); got ${describeValue(value)}`);
  return value;
}

function eventName(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 256) throw new MessageError(`"event" must be an event name (1-256 characters); got ${describeValue(value)}`);
  return value;
}

/** A short, printable string field (`to`, `by`). */
function shortText(field: string, value: unknown): string {
  if (typeof value !== "string" || !/^[\x20-\x7e]{1,128}$/.test(value)) throw new MessageError(`"${field}" must be 1-128 printable ASCII characters; got ${describeValue(value)}`);
  return value;
}

function by(value: unknown): { by?: string } {
  return value === undefined ? {} : { by: shortText("by", value) };
}

function limit(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_LOG_LIMIT) {
    throw new MessageError(`"limit" must be a whole number from 1 to ${MAX_LOG_LIMIT}; got ${describeValue(value)}`);
  }
  return value;
}

function streams(value: unknown): Stream[] {
  if (!Array.isArray(value) || value.length === 0) throw new MessageError(`"streams" must be a non-empty array of ${Object.keys(STREAMS).join(", ")}`);
  const out: Stream[] = [];
  for (const item of value) {
    if (typeof item !== "string" || !Object.hasOwn(STREAMS, item)) throw new MessageError(`"streams" has an unknown stream ${describeValue(item)} (known: ${Object.keys(STREAMS).join(", ")})`);
    if (!out.includes(item as Stream)) out.push(item as Stream);
  }
  return out;
}

/** `files`: an object of path -> text. Paths and sizes are checked by the deploy writer. */
function fileMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MessageError(`"files" must be an object { "mod.json": text, "main.ts": text, ... }`);
  const out: Record<string, string> = {};
  for (const [path, text] of Object.entries(value as Record<string, unknown>)) {
    if (typeof text !== "string") throw new MessageError(`"files" entry ${describeValue(path, QUOTE_CHARS)} must be the file's text`);
    out[path] = text;
  }
  return out;
}

/** `package`: a .tgz in base64 (checked and verified by the host). */
function packageText(value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw new MessageError(`"package" must be a packed tarball in base64; got ${describeValue(value)}`);
  return value;
}

function fieldOf(message: string): string | undefined {
  return /^"(\w+)"/.exec(message)?.[1];
}

function fail(id: RequestId | null, message: string, field?: string): ParsedRequest {
  return { ok: false, id, error: { code: "E_ADMIN_MESSAGE", message, ...(field !== undefined ? { field } : {}) } };
}

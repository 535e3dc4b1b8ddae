/**
 * The host's side of the prelude's text protocol (engine/runtime/prelude-api.ts): encodes what the
 * host sends in, decodes the replies. Reply text is built inside the mod's isolate, so every
 * decoder checks what it reads; a reply it cannot read is a failure with the call's code.
 */
import type {
  BatchText,
  PreludeFailure,
  ReplyText,
  ShapeFields,
  SliceFields,
  SnapshotFields,
  StageConfig,
  StageConfigText,
} from "../../runtime/prelude-api.js";
import { ERROR_CODES, type ErrorCode } from "../errors/error-codes.js";
import { encodeEventList } from "../model/event-list-text.js";
import type { LoadSpec, ModShape, StateSnapshot, WireEvent } from "../model/wire.js";
import { failed, ok, type SandboxFailure, type SandboxNotOk, type SandboxOutcome } from "./sandbox-outcome.js";

/** The staged version's configuration as stage() reads it. */
export function encodeStageConfig(spec: LoadSpec): StageConfigText {
  const config: StageConfig = {
    mod: { name: spec.name, version: spec.version },
    permissions: spec.permissions,
    maxBytes: spec.maxBytes,
    maxLogsPerCall: spec.maxLogsPerCall,
  };
  return JSON.stringify(config);
}

/** Encodes events from `from` on as the prelude's batch: runs `[[seq, name, now, payload, ...], ...]` (model/event-list-text.ts). */
export function encodeBatch(events: readonly WireEvent[], from: number): BatchText {
  return encodeEventList(events, from);
}

/** A reply split into its checked header and its payload text. */
type Split<F> = { readonly kind: "ok"; readonly fields: F; readonly payload: string } | SandboxNotOk;

/**
 * Splits a reply at its first "\n", parses the header and checks it with `fields` (which answers
 * undefined for a header it cannot use). `fallback` is the code of a failure the reply cannot name.
 */
function split<F extends object, P extends string>(
  text: ReplyText<F, P>,
  fallback: ErrorCode,
  fields: (header: Readonly<Record<string, unknown>>) => F | undefined,
): Split<F> {
  const newline = text.indexOf("\n");
  const headerText = newline < 0 ? text : text.slice(0, newline);
  const payload = newline < 0 ? "" : text.slice(newline + 1);
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (err) {
    return failed(fallback, `the sandbox answered with unreadable text (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null) return failed(fallback, "the sandbox answered with unreadable text");
  const record = header as Readonly<Record<string, unknown>>;
  if (record.ok === false) return { kind: "failed", error: failureFrom(record.error, fallback) };
  const checked = record.ok === true ? fields(record) : undefined;
  if (checked === undefined) return failed(fallback, "the sandbox answered with an unexpected reply");
  return { kind: "ok", fields: checked, payload };
}

/** The failure a reply names; its code must be a modhost code, else `fallback` stands in. */
function failureFrom(raw: unknown, fallback: ErrorCode): SandboxFailure {
  const error = (typeof raw === "object" && raw !== null ? raw : {}) as Partial<Record<keyof PreludeFailure, unknown>>;
  const code = typeof error.code === "string" && Object.hasOwn(ERROR_CODES, error.code) ? (error.code as ErrorCode) : fallback;
  const message = typeof error.message === "string" ? error.message : "failed";
  return { code, message, ...(typeof error.stack === "string" ? { stack: error.stack } : {}) };
}

/** A reply with no fields and no payload (initState, migrateState). */
export function decodeDone(text: ReplyText<object>, fallback: ErrorCode): SandboxOutcome<void> {
  const reply = split(text, fallback, () => ({}));
  return reply.kind === "ok" ? ok(undefined) : reply;
}

/** describe()'s reply: the definition's shape. */
export function decodeShape(text: ReplyText<ShapeFields>, fallback: ErrorCode): SandboxOutcome<ModShape> {
  const reply = split(text, fallback, (h): ShapeFields | undefined => {
    const events = h.events;
    if (!Array.isArray(events) || !events.every((e) => typeof e === "string")) return undefined;
    if (typeof h.hasInit !== "boolean" || typeof h.hasMigrate !== "boolean") return undefined;
    return { events, hasInit: h.hasInit, hasMigrate: h.hasMigrate };
  });
  if (reply.kind !== "ok") return reply;
  return ok({ events: reply.fields.events as string[], hasInit: reply.fields.hasInit, hasMigrate: reply.fields.hasMigrate });
}

/** A snapshot reply (exportState, migrateInPlace): the rng in the header, the state as the payload. */
export function decodeSnapshot(text: ReplyText<SnapshotFields, string>, fallback: ErrorCode): SandboxOutcome<StateSnapshot> {
  const reply = split(text, fallback, (h): SnapshotFields | undefined => {
    const rng = h.rng;
    return Array.isArray(rng) && rng.length === 4 && rng.every((n) => Number.isInteger(n)) ? { rng: rng as number[] } : undefined;
  });
  if (reply.kind !== "ok") return reply;
  return ok({ rng: [...reply.fields.rng], state: reply.payload });
}

const SLICE_HEAD = `{"ok":true,"done":`;

/** A slice reply (dispatch, collect): how many events are done, and their results' JSON list text. */
export function decodeSlice(text: ReplyText<SliceFields, string>): { readonly count: number; readonly inner: string } | undefined {
  // Every event goes through here: the header the prelude writes (okReply with `,"done":n`) is
  // read without JSON.parse (a microsecond per slice); anything else takes the checked path.
  const newline = text.indexOf("\n");
  if (newline > SLICE_HEAD.length + 1 && text.startsWith(SLICE_HEAD) && text.charCodeAt(newline - 1) === 125 /* } */) {
    let count = 0;
    let at = SLICE_HEAD.length;
    for (; at < newline - 1 && at < SLICE_HEAD.length + 9; at++) {
      const digit = text.charCodeAt(at) - 48;
      if (digit < 0 || digit > 9) break;
      count = count * 10 + digit;
    }
    if (at === newline - 1) return { count, inner: text.slice(newline + 1) };
  }
  const reply = split(text, "E_INTERNAL", (h): SliceFields | undefined => (Number.isInteger(h.done) && (h.done as number) >= 0 ? { done: h.done as number } : undefined));
  return reply.kind === "ok" ? { count: reply.fields.done, inner: reply.payload } : undefined;
}

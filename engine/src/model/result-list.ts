import type { WireError, WireResult } from "./wire.js";

/*
 * A dispatch's results as they cross from the isolate (DispatchOutcome.resultsJson): one JSON
 * array of tagged pairs, the tag then its body, per event: `1,<value>` (ok, with a value), `2,0`
 * (ok, no value: the handler returned undefined), `0,<error>` (failed; the error is a WireError).
 * Built by the prelude (engine/runtime/prelude.ts, runEvent) and forwarded unparsed by the
 * sandbox process. A pair is two array elements, where an envelope `{"ok":true,"value":...}` was
 * an object with two keys for JSON.parse to build on the host for every event (V8 24: 10 results
 * 551 -> 399 ns each).
 */

/** The tag of each kind of result in a result list. */
export const RESULT_TAG = { failed: 0, value: 1, noValue: 2 } as const;

/**
 * The results of a parsed result list. A pair it cannot read (an unknown tag, an error that is
 * not an object with a string code and message, a missing body) becomes a failed result that
 * says so, so a result is never forged or dropped from a misread.
 */
export function decodeResultList(list: readonly unknown[]): WireResult[] {
  const out = new Array<WireResult>((list.length + 1) >> 1);
  for (let i = 0, j = 0; j < out.length; i += 2, j++) {
    const tag = list[i];
    const body = list[i + 1];
    if (i + 1 >= list.length) out[j] = unreadable(j);
    else if (tag === RESULT_TAG.value) out[j] = { ok: true, value: body };
    else if (tag === RESULT_TAG.noValue) out[j] = { ok: true };
    else out[j] = tag === RESULT_TAG.failed && isWireError(body) ? { ok: false, error: body } : unreadable(j);
  }
  return out;
}

function isWireError(body: unknown): body is WireError {
  if (typeof body !== "object" || body === null) return false;
  const error = body as { code?: unknown; message?: unknown };
  return typeof error.code === "string" && typeof error.message === "string";
}

function unreadable(index: number): WireResult {
  return { ok: false, error: { code: "E_INTERNAL", message: `the sandbox answered with an unreadable result for the event at ${index} of its batch` } };
}

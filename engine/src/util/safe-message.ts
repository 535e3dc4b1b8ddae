import { messageOf } from "../errors/modhost-error.js";

/**
 * A thrown value's message for a report, even when converting the value throws itself (a
 * null-prototype object, an Error whose `message` getter throws): the code that reports a
 * failure must not fail in turn.
 */
export function safeMessageOf(err: unknown): string {
  try {
    return messageOf(err);
  } catch {
    return "an unprintable error"; // the value's own conversion threw: nothing better to say
  }
}

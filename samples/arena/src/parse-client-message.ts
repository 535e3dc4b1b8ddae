import { PROTOCOL_LIMITS, type ClientMessage, type Step } from "./protocol.js";

/** A parsed message, or why the text is not one. */
export type ParsedClientMessage = { readonly ok: true; readonly message: ClientMessage } | { readonly ok: false; readonly reason: string };

/** Parses one message from a client (untrusted): exact shapes only, unknown keys refused. */
export function parseClientMessage(text: string): ParsedClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, reason: "a message must be a JSON object" };
  const o = raw as Record<string, unknown>;
  const keys = (...allowed: string[]): string | undefined => Object.keys(o).find((k) => k !== "t" && !allowed.includes(k));
  const extra = (k: string | undefined): ParsedClientMessage => ({ ok: false, reason: `unknown field "${k ?? ""}" in a "${String(o.t)}" message` });
  switch (o.t) {
    case "join": {
      if (keys("name") !== undefined) return extra(keys("name"));
      const name = o.name;
      if (typeof name !== "string" || !/^[\w.-]+$/.test(name) || name.length > PROTOCOL_LIMITS.maxNameLength) {
        return { ok: false, reason: `join.name must be 1-${PROTOCOL_LIMITS.maxNameLength} letters, digits, "_", "." or "-"` };
      }
      return { ok: true, message: { t: "join", name } };
    }
    case "move": {
      if (keys("dx", "dy") !== undefined) return extra(keys("dx", "dy"));
      if (!isStep(o.dx) || !isStep(o.dy)) return { ok: false, reason: "move.dx and move.dy must each be -1, 0 or 1" };
      return { ok: true, message: { t: "move", dx: o.dx, dy: o.dy } };
    }
    case "attack": {
      if (keys("target") !== undefined) return extra(keys("target"));
      if (typeof o.target !== "string" || o.target.length > 32) return { ok: false, reason: "attack.target must be a player id" };
      return { ok: true, message: { t: "attack", target: o.target } };
    }
    case "pickup":
      if (keys() !== undefined) return extra(keys());
      return { ok: true, message: { t: "pickup" } };
    case "chat": {
      if (keys("text") !== undefined) return extra(keys("text"));
      if (typeof o.text !== "string" || o.text.length > PROTOCOL_LIMITS.maxChatLength) return { ok: false, reason: `chat.text must be a string of at most ${PROTOCOL_LIMITS.maxChatLength} characters` };
      return { ok: true, message: { t: "chat", text: o.text } };
    }
    default:
      return { ok: false, reason: `unknown message type ${JSON.stringify(o.t)}` };
  }
}

function isStep(value: unknown): value is Step {
  return value === -1 || value === 0 || value === 1;
}

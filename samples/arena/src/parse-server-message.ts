import type { ServerMessage } from "./protocol.js";

/**
 * Parses a message from the server, for the bot client. Checks the type tag and the fields the bot
 * relies on; undefined when the text is not a message of the protocol.
 */
export function parseServerMessage(text: string): ServerMessage | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not JSON: reported by the caller as "not a message of the protocol".
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  switch (o.t) {
    case "welcome":
      return typeof o.id === "string" && typeof o.width === "number" && typeof o.height === "number" && typeof o.tickHz === "number" ? (o as unknown as ServerMessage) : undefined;
    case "tick":
      return typeof o.tick === "number" && typeof o.you === "object" && o.you !== null && Array.isArray(o.players) && Array.isArray(o.loot) ? (o as unknown as ServerMessage) : undefined;
    case "chat":
      return typeof o.from === "string" && typeof o.text === "string" ? (o as unknown as ServerMessage) : undefined;
    case "system":
      return typeof o.text === "string" ? (o as unknown as ServerMessage) : undefined;
    default:
      return undefined;
  }
}

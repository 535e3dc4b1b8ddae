import type { CapabilityName, ModCapabilities } from "@modhost/sdk";
import type { ClientHub } from "./client-hub.js";

/** The game's implementation of every capability it declares in types/arena.d.ts. */
export type ArenaCapabilities = { readonly [K in CapabilityName]: (...args: Parameters<ModCapabilities[K]>) => ReturnType<ModCapabilities[K]> };

/** Longest system line a mod may show. */
const MAX_TEXT = 200;

/**
 * The functions the arena offers its mods. Their arguments come from untrusted code (the type
 * check says what a mod meant, not what it sent), so each is checked; a throw becomes the mod's
 * E_CAPABILITY_FAILED. They answer synchronously, as modhost requires.
 */
export function arenaCapabilities(hub: ClientHub, onSystemLine: (kind: "announce" | "notify", text: string) => void): ArenaCapabilities {
  return {
    announce(text) {
      checkText(text);
      hub.broadcast({ t: "system", text });
      onSystemLine("announce", text);
    },
    notify(player, text) {
      checkText(text);
      if (typeof player !== "string") throw new TypeError("notify(player, text): player must be a player id");
      hub.send(player, { t: "system", text });
      onSystemLine("notify", text);
    },
  };
}

function checkText(text: unknown): asserts text is string {
  if (typeof text !== "string" || text.length === 0 || text.length > MAX_TEXT) throw new TypeError(`the text must be a string of 1-${MAX_TEXT} characters`);
}

import { fileURLToPath } from "node:url";

/** Folders and files of the sample that the code needs at run time (same from src/ and dist/). */
export const ARENA_PATHS = {
  /** The mods as shipped: combat, loot, chat-filter. */
  mods: fileURLToPath(new URL("../mods/", import.meta.url)),
  /** The versions of the combat mod that the demo patches in. */
  patches: fileURLToPath(new URL("../patches/", import.meta.url)),
  /** The game's declarations for its mods (ModEvents, ModResults, ModCapabilities). */
  modTypes: fileURLToPath(new URL("../types/arena.d.ts", import.meta.url)),
} as const;

/** Words masked in chat (compared in lower case). */
export const RUDE_WORDS: ReadonlySet<string> = new Set(["noob", "heck", "darn", "loser"]);

/** Longest line shown; longer lines are cut. */
export const MAX_LENGTH = 120;

/** A player is warned on every this many masked lines. */
export const WARN_EVERY = 3;

/**
 * Masks every rude word of `text` with asterisks of the same length. Returns the new text and how
 * many words were masked. (Splits on non-letters rather than building a RegExp from the list.)
 */
export function mask(text: string): { text: string; masked: number } {
  let masked = 0;
  const parts = text.split(/([^A-Za-z]+)/);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (RUDE_WORDS.has(part.toLowerCase())) {
      parts[i] = "*".repeat(part.length);
      masked++;
    }
  }
  return { text: parts.join(""), masked };
}

import { defineMod } from "@modhost/sdk";
import { mask, MAX_LENGTH, WARN_EVERY } from "./words.js";

/** Lines seen, lines masked, and masked lines per player id. */
type State = {
  lines: number;
  masked: number;
  strikes: Record<string, number>;
};

export default defineMod<State, "notify">({
  init: () => ({ lines: 0, masked: 0, strikes: {} }),
  on: {
    chat(state, e, ctx) {
      state.lines++;
      const trimmed = e.text.trim().slice(0, MAX_LENGTH);
      if (trimmed.length === 0) return { text: "", blocked: true };
      const result = mask(trimmed);
      if (result.masked === 0) return { text: trimmed, blocked: false };
      state.masked++;
      const strikes = (state.strikes[e.player] ?? 0) + 1;
      state.strikes[e.player] = strikes;
      if (strikes % WARN_EVERY === 0) ctx.host.notify(e.player, `please keep the chat friendly, ${e.name} (${strikes} lines masked so far)`);
      return { text: result.text, blocked: false };
    },
  },
});

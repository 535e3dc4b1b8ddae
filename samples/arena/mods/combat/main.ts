import { defineMod } from "@modhost/sdk";
import { rollAttack } from "./rules.js";

/** Per player id: hits landed, damage dealt, kills. */
type State = {
  hits: Record<string, number>;
  damage: Record<string, number>;
  kills: Record<string, number>;
};

export default defineMod<State, "announce">({
  init: () => ({ hits: {}, damage: {}, kills: {} }),
  on: {
    attack(state, e, ctx) {
      const outcome = rollAttack(e.weapon, e.distance, ctx.random(), ctx.random());
      if (outcome.damage > 0) {
        state.hits[e.attacker] = (state.hits[e.attacker] ?? 0) + 1;
        state.damage[e.attacker] = (state.damage[e.attacker] ?? 0) + outcome.damage;
      }
      return outcome;
    },
    death(state, e, ctx) {
      const kills = (state.kills[e.killer] ?? 0) + 1;
      state.kills[e.killer] = kills;
      ctx.host.announce(`${e.killerName} defeated ${e.victimName} (${kills} ${kills === 1 ? "kill" : "kills"})`);
      return kills;
    },
  },
});

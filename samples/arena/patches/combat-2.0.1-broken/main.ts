import { defineMod } from "@modhost/sdk";
import { rollAttack } from "./rules.js";

/** One player's record. */
type Fighter = { hits: number; damage: number; kills: number; streak: number; bestStreak: number };

/** Version 2: one record per player id (version 1 kept three maps). */
type State = { fighters: Record<string, Fighter> };

/** Version 1's state, as migrate() receives it. */
type StateV1 = { hits: Record<string, number>; damage: Record<string, number>; kills: Record<string, number> };

const fresh = (): Fighter => ({ hits: 0, damage: 0, kills: 0, streak: 0, bestStreak: 0 });

/** Kill streaks worth announcing. */
const STREAK_EVERY = 3;

export default defineMod<State, "announce">({
  init: () => ({ fighters: {} }),
  migrate(old, fromVersion) {
    if (!fromVersion.startsWith("1.")) throw new Error(`cannot migrate combat state from version ${fromVersion}`);
    const v1 = old as StateV1;
    const fighters: Record<string, Fighter> = {};
    for (const id of new Set([...Object.keys(v1.hits), ...Object.keys(v1.damage), ...Object.keys(v1.kills)])) {
      fighters[id] = { ...fresh(), hits: v1.hits[id] ?? 0, damage: v1.damage[id] ?? 0, kills: v1.kills[id] ?? 0 };
    }
    return { fighters };
  },
  on: {
    attack(state, e, ctx) {
      // Hotfix: spears reach one cell further, so they should not suffer the distance penalty.
      const distance = e.weapon.startsWith("spear") ? e.distance - 1 : e.distance;
      const outcome = rollAttack(e.weapon, distance, ctx.random(), ctx.random());
      if (outcome.damage > 0) {
        const me = (state.fighters[e.attacker] ??= fresh());
        me.hits++;
        me.damage += outcome.damage;
      }
      return outcome;
    },
    death(state, e, ctx) {
      const killer = (state.fighters[e.killer] ??= fresh());
      const victim = (state.fighters[e.victim] ??= fresh());
      killer.kills++;
      killer.streak++;
      killer.bestStreak = Math.max(killer.bestStreak, killer.streak);
      victim.streak = 0;
      if (killer.streak % STREAK_EVERY === 0) ctx.host.announce(`${e.killerName} is on a ${killer.streak}-kill streak!`);
      return killer.kills;
    },
  },
});

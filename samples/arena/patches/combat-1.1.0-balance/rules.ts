import type { AttackOutcome } from "@modhost/sdk";

/** Damage of a bare-handed hit. */
export const BASE_DAMAGE = 8;
/** Extra damage by weapon name. */
export const WEAPON_BONUS: Readonly<Record<string, number>> = { dagger: 4, sword: 7, axe: 10 };
/** Chance that a hit is critical. */
export const CRIT_CHANCE = 0.2;
/** A critical hit does this many times the damage. */
export const CRIT_MULTIPLIER = 2;
/** Chance to miss, per cell of distance (diagonal neighbours are a little further away). */
export const MISS_CHANCE_PER_CELL = 0.15;

/** The outcome of one attack, given two random numbers in [0, 1). */
export function rollAttack(weapon: string | null, distance: number, missRoll: number, critRoll: number): AttackOutcome {
  if (missRoll < MISS_CHANCE_PER_CELL * distance) return { damage: 0, critical: false };
  const base = BASE_DAMAGE + (weapon === null ? 0 : (WEAPON_BONUS[weapon] ?? 0));
  const critical = critRoll < CRIT_CHANCE;
  return { damage: critical ? base * CRIT_MULTIPLIER : base, critical };
}

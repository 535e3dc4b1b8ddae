import type { LootItem } from "@modhost/sdk";

/** One line of the loot table: an item and its weight (its chance is weight / total weight). */
export interface TableEntry {
  readonly weight: number;
  readonly item: LootItem;
}

/** What can appear. Weapon values are ranks (1-3); the combat mod decides what they do. */
export const TABLE: readonly TableEntry[] = [
  { weight: 40, item: { kind: "gold", name: "coins", value: 5 } },
  { weight: 10, item: { kind: "gold", name: "gem", value: 25 } },
  { weight: 25, item: { kind: "potion", name: "small potion", value: 15 } },
  { weight: 8, item: { kind: "potion", name: "large potion", value: 40 } },
  { weight: 9, item: { kind: "weapon", name: "dagger", value: 1 } },
  { weight: 6, item: { kind: "weapon", name: "sword", value: 2 } },
  { weight: 2, item: { kind: "weapon", name: "axe", value: 3 } },
];

/** Chance that a periodic spawn produces an item. */
export const SPAWN_CHANCE = 0.7;
/** Chance that a fallen player drops an item. */
export const DEATH_DROP_CHANCE = 0.5;

/** The item for a random number in [0, 1), by weight. */
export function pick(roll: number): LootItem {
  const total = TABLE.reduce((sum, entry) => sum + entry.weight, 0);
  let left = roll * total;
  for (const entry of TABLE) {
    left -= entry.weight;
    if (left < 0) return entry.item;
  }
  return (TABLE[TABLE.length - 1] as TableEntry).item;
}

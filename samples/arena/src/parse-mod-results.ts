import type { AttackOutcome, ChatVerdict, LootItem, ModResults, PickupEffect } from "@modhost/sdk";

/**
 * Parsers of what mods return, by event. A mod is untrusted: its type-check says what it meant to
 * return, not what it did, so the server checks every value before it touches the world.
 * Each returns the value, or undefined when it does not have the declared shape.
 */
export const RESULT_PARSERS: { readonly [E in keyof ModResults]: (value: unknown) => ModResults[E] | undefined } = {
  attack: (value): AttackOutcome | undefined => {
    const o = object(value);
    if (o === undefined || !finite(o.damage) || o.damage < 0 || o.damage > 1000 || typeof o.critical !== "boolean") return undefined;
    return { damage: o.damage, critical: o.critical };
  },
  lootDrop: (value): LootItem | null | undefined => (value === null ? null : lootItem(value)),
  pickup: (value): PickupEffect | undefined => {
    const o = object(value);
    if (o === undefined || !finite(o.heal) || !finite(o.gold) || !(o.weapon === null || (typeof o.weapon === "string" && o.weapon.length <= 32))) return undefined;
    return { heal: o.heal, gold: o.gold, weapon: o.weapon };
  },
  chat: (value): ChatVerdict | undefined => {
    const o = object(value);
    if (o === undefined || typeof o.text !== "string" || o.text.length > 500 || typeof o.blocked !== "boolean") return undefined;
    return { text: o.text, blocked: o.blocked };
  },
};

function lootItem(value: unknown): LootItem | undefined {
  const o = object(value);
  if (o === undefined || (o.kind !== "potion" && o.kind !== "weapon" && o.kind !== "gold")) return undefined;
  if (typeof o.name !== "string" || o.name.length === 0 || o.name.length > 32 || !finite(o.value)) return undefined;
  return { kind: o.kind, name: o.name, value: o.value };
}

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function finite(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

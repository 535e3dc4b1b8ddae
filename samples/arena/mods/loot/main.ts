import { defineMod, type PickupEffect } from "@modhost/sdk";
import { DEATH_DROP_CHANCE, pick, SPAWN_CHANCE } from "./table.js";

/** Items dropped, by item name; items picked up, by player id then item name. */
type State = {
  dropped: Record<string, number>;
  picked: Record<string, Record<string, number>>;
};

export default defineMod<State>({
  init: () => ({ dropped: {}, picked: {} }),
  on: {
    lootDrop(state, e, ctx) {
      const chance = e.cause === "death" ? DEATH_DROP_CHANCE : SPAWN_CHANCE;
      if (ctx.random() >= chance) return null;
      const item = pick(ctx.random());
      state.dropped[item.name] = (state.dropped[item.name] ?? 0) + 1;
      return item;
    },
    pickup(state, e): PickupEffect {
      const mine = (state.picked[e.player] ??= {});
      mine[e.item.name] = (mine[e.item.name] ?? 0) + 1;
      switch (e.item.kind) {
        case "potion":
          return { heal: e.item.value, weapon: null, gold: 0 };
        case "weapon":
          return { heal: 0, weapon: e.item.name, gold: 0 };
        case "gold":
          return { heal: 0, weapon: null, gold: e.item.value };
      }
    },
  },
});

import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { LootItem } from "@modhost/sdk";
import { loadMod, type LoadedMod } from "@modhost/sdk/testing";

const MOD = new URL("..", import.meta.url);
const modTypes = [fileURLToPath(new URL("../../../types/arena.d.ts", import.meta.url))];

type State = { dropped: Record<string, number>; picked: Record<string, Record<string, number>> };

let mod: LoadedMod | undefined;
afterEach(async () => {
  await mod?.close();
  mod = undefined;
});

describe("loot mod", () => {
  it("spawns items from its table (or nothing) and counts what it dropped", async () => {
    mod = await loadMod(MOD, { modTypes });
    const drops: (LootItem | null)[] = [];
    for (let tick = 0; tick < 100; tick++) drops.push(await mod.value("lootDrop", { x: 1, y: 2, tick, cause: "spawn" }));
    const items = drops.filter((d): d is LootItem => d !== null);
    expect(items.length).toBeGreaterThan(40);
    expect(items.length).toBeLessThan(100);
    for (const item of items) {
      expect(["potion", "weapon", "gold"]).toContain(item.kind);
      expect(item.value).toBeGreaterThan(0);
    }
    const counts: Record<string, number> = {};
    for (const item of items) counts[item.name] = (counts[item.name] ?? 0) + 1;
    expect((await mod.state<State>()).dropped).toEqual(counts);
  });

  it("turns each kind of item into its effect", async () => {
    mod = await loadMod(MOD, { modTypes });
    const pickup = (item: LootItem) => mod!.value("pickup", { player: "p1", item });
    expect(await pickup({ kind: "potion", name: "small potion", value: 15 })).toEqual({ heal: 15, weapon: null, gold: 0 });
    expect(await pickup({ kind: "weapon", name: "sword", value: 2 })).toEqual({ heal: 0, weapon: "sword", gold: 0 });
    expect(await pickup({ kind: "gold", name: "coins", value: 5 })).toEqual({ heal: 0, weapon: null, gold: 5 });
    expect(await pickup({ kind: "gold", name: "coins", value: 5 })).toEqual({ heal: 0, weapon: null, gold: 5 });
    expect((await mod.state<State>()).picked).toEqual({ p1: { "small potion": 1, sword: 1, coins: 2 } });
  });

  it("asks for no capability", async () => {
    mod = await loadMod(MOD, { modTypes });
    await mod.value("lootDrop", { x: 0, y: 0, tick: 1, cause: "death" });
    expect(mod.calls).toEqual([]);
  });
});

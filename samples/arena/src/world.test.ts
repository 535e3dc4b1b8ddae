import { describe, expect, it } from "vitest";
import { Random } from "./random.js";
import { DEFAULT_WORLD, World } from "./world.js";

const world = () => new World({ ...DEFAULT_WORLD, width: 4, height: 4, maxLoot: 2, respawnTicks: 3 }, new Random(7));

describe("World", () => {
  it("keeps players on the grid", () => {
    const w = world();
    const p = w.addPlayer("ann");
    for (let i = 0; i < 10; i++) w.move(p, 1, -1);
    expect([p.x, p.y]).toEqual([3, 0]);
  });

  it("kills at 0 hp, drops the weapon, and respawns with full hp after respawnTicks", () => {
    const w = world();
    const p = w.addPlayer("ann");
    p.weapon = "axe";
    expect(w.damage(p, 60, 10)).toBe(false);
    expect(w.damage(p, 60, 10)).toBe(true);
    expect(p).toMatchObject({ hp: 0, alive: false, weapon: null, respawnAt: 13 });
    expect(w.damage(p, 10, 11)).toBe(false);
    w.respawn(12);
    expect(p.alive).toBe(false);
    w.respawn(13);
    expect(p).toMatchObject({ hp: 100, alive: true });
  });

  it("holds at most maxLoot items, and an item can be taken once", () => {
    const w = world();
    const coins = { kind: "gold", name: "coins", value: 5 } as const;
    const first = w.drop(1, 1, coins);
    expect(w.drop(2, 2, coins)).toBeDefined();
    expect(w.drop(3, 3, coins)).toBeUndefined();
    expect(w.itemAt(1, 1)).toBe(first);
    expect(w.take(first!.id)).toBe(true);
    expect(w.take(first!.id)).toBe(false);
  });

  it("applies pickups within bounds", () => {
    const w = world();
    const p = w.addPlayer("ann");
    p.hp = 90;
    w.applyPickup(p, { heal: 40, weapon: "sword", gold: 3.7 });
    expect(p).toMatchObject({ hp: 100, weapon: "sword", gold: 3 });
    w.applyPickup(p, { heal: -50, weapon: null, gold: -10 });
    expect(p).toMatchObject({ hp: 100, weapon: "sword", gold: 3 });
  });
});

import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { AttackOutcome, ModEvents } from "@modhost/sdk";
import { loadMod, type LoadedMod } from "@modhost/sdk/testing";

const MOD = new URL("..", import.meta.url);
const PATCHES = new URL("../../../patches/", import.meta.url);
const modTypes = [fileURLToPath(new URL("../../../types/arena.d.ts", import.meta.url))];

type StateV1 = { hits: Record<string, number>; damage: Record<string, number>; kills: Record<string, number> };
type StateV2 = { fighters: Record<string, { hits: number; damage: number; kills: number; streak: number; bestStreak: number }> };

const attack = (over: Partial<ModEvents["attack"]> = {}): ModEvents["attack"] => ({
  attacker: "p1",
  attackerName: "ann",
  target: "p2",
  targetName: "bob",
  distance: 1,
  weapon: null,
  targetHp: 100,
  ...over,
});
const death = (killer = "p1", victim = "p2"): ModEvents["death"] => ({ killer, killerName: killer === "p1" ? "ann" : "bob", victim, victimName: victim === "p2" ? "bob" : "ann" });

let mod: LoadedMod | undefined;
afterEach(async () => {
  await mod?.close();
  mod = undefined;
});

async function attacks(n: number, over: Partial<ModEvents["attack"]> = {}): Promise<AttackOutcome[]> {
  const out: AttackOutcome[] = [];
  for (let i = 0; i < n; i++) out.push(await mod!.value("attack", attack(over)));
  return out;
}

describe("combat mod", () => {
  it("hits for the base damage, twice that on a critical, or misses", async () => {
    mod = await loadMod(MOD, { modTypes });
    const outcomes = await attacks(60);
    for (const o of outcomes) expect([{ damage: 0, critical: false }, { damage: 10, critical: false }, { damage: 20, critical: true }]).toContainEqual(o);
    const landed = outcomes.filter((o) => o.damage > 0);
    expect(landed.length).toBeGreaterThan(0);
    const state = await mod.state<StateV1>();
    expect(state.hits).toEqual({ p1: landed.length });
    expect(state.damage).toEqual({ p1: landed.reduce((sum, o) => sum + o.damage, 0) });
  });

  it("adds the weapon's bonus", async () => {
    mod = await loadMod(MOD, { modTypes });
    for (const o of await attacks(20, { weapon: "axe" })) expect([0, 19, 38]).toContain(o.damage);
    for (const o of await attacks(20, { weapon: "a stick it does not know" })) expect([0, 10, 20]).toContain(o.damage);
  });

  it("counts kills and announces them through the announce capability", async () => {
    mod = await loadMod(MOD, { modTypes });
    expect(await mod.value("death", death())).toBe(1);
    expect(await mod.value("death", death())).toBe(2);
    expect(mod.takeCalls()).toEqual([
      { permission: "announce", args: ["ann defeated bob (1 kill)"] },
      { permission: "announce", args: ["ann defeated bob (2 kills)"] },
    ]);
    expect((await mod.state<StateV1>()).kills).toEqual({ p1: 2 });
  });

  it("1.1.0 (balance) swaps in without a migration and keeps the counts", async () => {
    mod = await loadMod(MOD, { modTypes });
    await attacks(10);
    await mod.value("death", death());
    const before = await mod.state<StateV1>();
    const report = await mod.swapTo(new URL("combat-1.1.0-balance/", PATCHES));
    expect(report).toMatchObject({ ok: true, kind: "swap", from: "1.0.0", to: "1.1.0" });
    expect(report.changes).toContainEqual({ kind: "modified", path: "rules.ts: const BASE_DAMAGE" });
    expect(await mod.state()).toEqual(before);
    for (const o of await attacks(20)) expect([0, 8, 16]).toContain(o.damage);
  });

  it("2.0.0 (streaks) migrates the three maps into one record per player", async () => {
    mod = await loadMod(MOD, { modTypes });
    const landed = (await attacks(10)).filter((o) => o.damage > 0);
    await mod.value("death", death("p2", "p1"));
    const report = await mod.swapTo(new URL("combat-2.0.0-streaks/", PATCHES));
    expect(report).toMatchObject({ ok: true, kind: "swap", from: "1.0.0", to: "2.0.0" });
    expect(report.changes).toContainEqual({ kind: "added", path: "migrate" });
    const state = await mod.state<StateV2>();
    expect(state.fighters.p1).toEqual({ hits: landed.length, damage: landed.reduce((s, o) => s + o.damage, 0), kills: 0, streak: 0, bestStreak: 0 });
    expect(state.fighters.p2).toMatchObject({ kills: 1, streak: 0 });
  });

  it("2.0.0 announces every third kill in a row, and a death ends the streak", async () => {
    mod = await loadMod(MOD, { modTypes });
    await mod.swapTo(new URL("combat-2.0.0-streaks/", PATCHES));
    for (let i = 0; i < 3; i++) await mod.value("death", death("p1", "p2"));
    await mod.value("death", death("p2", "p1"));
    expect(mod.takeCalls()).toEqual([{ permission: "announce", args: ["ann is on a 3-kill streak!"] }]);
    expect((await mod.state<StateV2>()).fighters.p1).toMatchObject({ kills: 3, streak: 0, bestStreak: 3 });
  });

  it("the broken 2.0.1 hotfix is refused by the type check and 2.0.0 keeps serving", async () => {
    mod = await loadMod(MOD, { modTypes });
    await mod.swapTo(new URL("combat-2.0.0-streaks/", PATCHES));
    await attacks(3);
    const before = await mod.state();
    const report = await mod.swapTo(new URL("combat-2.0.1-broken/", PATCHES));
    expect(report).toMatchObject({ ok: false, kind: "rejected", from: "2.0.0", to: "2.0.1", error: { code: "E_TYPE", file: "main.ts", line: 32 } });
    expect(report.error?.message).toContain("'e.weapon' is possibly 'null'");
    expect(mod.version).toBe("2.0.0");
    expect(await mod.state()).toEqual(before);
    expect(await mod.emit("attack", attack())).toMatchObject({ ok: true, version: "2.0.0" });
  });
});

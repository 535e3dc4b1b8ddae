/**
 * A host typed for its game: `ModHost.create<Game>()` types emit's event names, payloads and
 * results (this file is type-checked by sdk-types.test.ts through test/sdk/tsconfig.json, so the
 * `@ts-expect-error` lines below fail that test if a wrong payload stops being a type error).
 */
import { describe, expect, it } from "vitest";
import { ModHost, type EmitResult } from "modhost";
import { makeModsDir, simpleMod } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

/** The game's declarations, in the shapes of @modhost/sdk's ModEvents and ModResults. */
interface Game {
  events: { hit: { player: string; damage: number }; tick: undefined };
  results: { hit: number };
}

const MAIN = `export default {
  init: () => ({ hp: 100, ticks: 0 }),
  on: {
    hit(s: { hp: number }, e: { player: string; damage: number }) { s.hp -= e.damage; return s.hp; },
    tick(s: { ticks: number }) { s.ticks++; },
  },
};
`;

const scratch = persistScratch();

describe("a host typed for its game", () => {
  it("types emit's payload and results; a wrong payload or event name is a type error", async () => {
    const mods = (scratch.mods = await makeModsDir({ m: simpleMod("m", MAIN) }));
    const host = await ModHost.create<Game>({ modsDir: mods.dir, isolation: "inline" });
    scratch.hosts.push(host);
    const results = await host.emit("hit", { player: "ann", damage: 7 });
    const hp: number | undefined = results[0]?.value; // typed by Game["results"]["hit"]
    expect(hp).toBe(93);
    const ticked: EmitResult<unknown>[] = await host.emit("tick"); // an undefined payload may be left out
    expect(ticked[0]?.ok).toBe(true);
    // A tick is typed the same way, each result by its own event.
    const [hits, ticks] = await host.emitMany([{ event: "hit", payload: { player: "bo", damage: 3 } }, { event: "tick" }]);
    const hpAfter: number | undefined = hits?.[0]?.value;
    expect(hpAfter).toBe(90);
    expect(ticks?.[0]?.ok).toBe(true);
    // @ts-expect-error a tick event the game does not declare
    expect(await host.emitMany([{ event: "hti", payload: 1 }])).toEqual([[]]);
    // @ts-expect-error a tick payload of the wrong type
    await host.emitMany([{ event: "hit", payload: { player: "ann", damage: "7" } }]);
    // @ts-expect-error a tick's hit result is a number
    const tickText: string | undefined = hits?.[0]?.value;
    expect(tickText).toBe(90);

    // Each call below is a type error; at run time the host still answers it (data, not a throw).
    // @ts-expect-error a payload missing a field the game declares
    const wrong = await host.emit("hit", { player: "ann" });
    expect(wrong.map((r) => r.mod)).toEqual(["m"]);
    // @ts-expect-error a payload of the wrong type
    await host.emit("hit", { player: "ann", damage: "7" });
    // @ts-expect-error hit's payload is required
    await host.emit("hit");
    // @ts-expect-error an event the game does not declare
    expect(await host.emit("hti", { player: "ann", damage: 1 })).toEqual([]);
    // @ts-expect-error hit's result is a number
    const text: string | undefined = results[0]?.value;
    expect(text).toBe(93);

  }, 120_000); // hosts on a loaded machine: a cold type-check each

  it("an untyped host accepts any event and payload, results are unknown", async () => {
    const mods = (scratch.mods = await makeModsDir({ m: simpleMod("m", MAIN) }));
    const untyped = await ModHost.create({ modsDir: mods.dir, isolation: "inline" });
    scratch.hosts.push(untyped);
    const results = await untyped.emit("hit", { player: "ann", damage: 1 });
    const value: unknown = results[0]?.value;
    expect(value).toBe(99);
    expect(await untyped.emit("anything")).toEqual([]);
    const tick: EmitResult[][] = await untyped.emitMany([{ event: "hit", payload: { player: "ann", damage: 1 } }, { event: "anything" }]);
    expect(tick[0]?.[0]?.value).toBe(98);
  }, 120_000); // hosts on a loaded machine: a cold type-check each
});

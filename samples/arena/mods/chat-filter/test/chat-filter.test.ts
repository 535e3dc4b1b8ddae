import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { loadMod, type LoadedMod } from "@modhost/sdk/testing";

const MOD = new URL("..", import.meta.url);
const modTypes = [fileURLToPath(new URL("../../../types/arena.d.ts", import.meta.url))];

type State = { lines: number; masked: number; strikes: Record<string, number> };

let mod: LoadedMod | undefined;
afterEach(async () => {
  await mod?.close();
  mod = undefined;
});

const say = (text: string, player = "p1") => mod!.value("chat", { player, name: player === "p1" ? "ann" : "bob", text });

describe("chat-filter mod", () => {
  it("lets friendly lines through unchanged (trimmed)", async () => {
    mod = await loadMod(MOD, { modTypes });
    expect(await say("  good game!  ")).toEqual({ text: "good game!", blocked: false });
  });

  it("masks rude words whatever their case, keeping the rest", async () => {
    mod = await loadMod(MOD, { modTypes });
    expect(await say("what a NOOB, heck.")).toEqual({ text: "what a ****, ****.", blocked: false });
    expect(await say("snooby is not a rude word")).toEqual({ text: "snooby is not a rude word", blocked: false });
  });

  it("blocks empty lines and cuts long ones", async () => {
    mod = await loadMod(MOD, { modTypes });
    expect(await say("   ")).toEqual({ text: "", blocked: true });
    expect((await say("a".repeat(500))).text).toHaveLength(120);
  });

  it("warns a player through notify on every third masked line", async () => {
    mod = await loadMod(MOD, { modTypes });
    for (let i = 0; i < 3; i++) await say("darn");
    await say("darn", "p2");
    expect(mod.takeCalls()).toEqual([{ permission: "notify", args: ["p1", "please keep the chat friendly, ann (3 lines masked so far)"] }]);
    expect(await mod.state<State>()).toEqual({ lines: 4, masked: 4, strikes: { p1: 3, p2: 1 } });
  });

  it("without the notify grant it does not load: the operator must grant what mod.json asks for", async () => {
    await expect(loadMod(MOD, { modTypes, grants: [] })).rejects.toMatchObject({ code: "E_MOD_NOT_LOADED", error: { code: "E_PERMISSION_NOT_GRANTED", field: "permissions[0]" } });
  });
});

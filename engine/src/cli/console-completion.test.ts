import { describe, expect, it } from "vitest";
import { completeConsoleLine, type CompletionData } from "./console-completion.js";

const DATA: CompletionData = {
  mods: ["chat-filter", "combat", "loot"],
  events: { "chat-filter": ["chat"], combat: ["attack", "death"], loot: ["lootDrop", "pickup"] },
};

describe("console completion", () => {
  it("completes commands, then mod names, then event names", () => {
    expect(completeConsoleLine("", DATA)).toEqual([["approve", "emit", "exit", "help", "logs", "reload", "rollback", "state", "status", "versions"], ""]);
    expect(completeConsoleLine("st", DATA)).toEqual([["state", "status"], "st"]);
    expect(completeConsoleLine("  ve", DATA)).toEqual([["versions"], "ve"]);
    expect(completeConsoleLine("state c", DATA)).toEqual([["chat-filter", "combat"], "c"]);
    expect(completeConsoleLine("versions ", DATA)).toEqual([["chat-filter", "combat", "loot"], ""]);
    expect(completeConsoleLine("emit ", DATA)).toEqual([["attack", "chat", "death", "lootDrop", "pickup"], ""]);
    expect(completeConsoleLine("emit lo", DATA)).toEqual([["lootDrop"], "lo"]);
  });

  it("after emit <event> ... --mod, offers only the mods that handle that event", () => {
    expect(completeConsoleLine('emit death {"victim":"p2"} --mod ', DATA)).toEqual([["combat"], ""]);
    expect(completeConsoleLine("emit chat {} --m", DATA)).toEqual([["--mod"], "--m"]);
    expect(completeConsoleLine("rollback combat --", DATA)).toEqual([["--to"], "--"]);
  });

  it("offers nothing where nothing fits", () => {
    expect(completeConsoleLine("state combat x", DATA)).toEqual([[], "x"]);
    expect(completeConsoleLine("status ", DATA)).toEqual([[], ""]);
    expect(completeConsoleLine("emit zz", DATA)).toEqual([[], "zz"]);
  });
});

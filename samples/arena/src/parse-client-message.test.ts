import { describe, expect, it } from "vitest";
import { parseClientMessage } from "./parse-client-message.js";

describe("parseClientMessage", () => {
  it.each([
    ['{"t":"join","name":"ann"}', { t: "join", name: "ann" }],
    ['{"t":"move","dx":-1,"dy":1}', { t: "move", dx: -1, dy: 1 }],
    ['{"t":"attack","target":"p2"}', { t: "attack", target: "p2" }],
    ['{"t":"pickup"}', { t: "pickup" }],
    ['{"t":"chat","text":"gg"}', { t: "chat", text: "gg" }],
  ])("accepts %s", (text, message) => {
    expect(parseClientMessage(text)).toEqual({ ok: true, message });
  });

  it.each([
    ["not json", "not JSON"],
    ["[1]", "must be a JSON object"],
    ['{"t":"fly"}', 'unknown message type "fly"'],
    ['{"t":"join","name":"a b"}', "join.name"],
    ['{"t":"join","name":"ann","admin":true}', 'unknown field "admin"'],
    ['{"t":"move","dx":2,"dy":0}', "move.dx"],
    ['{"t":"pickup","all":true}', 'unknown field "all"'],
    [`{"t":"chat","text":"${"x".repeat(201)}"}`, "at most 200"],
  ])("refuses %s", (text, reason) => {
    const parsed = parseClientMessage(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.reason).toContain(reason);
  });
});

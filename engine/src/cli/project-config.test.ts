import { describe, expect, it } from "vitest";
import { isModhostError } from "../errors/modhost-error.js";
import { parseProjectConfig } from "./project-config.js";

const FILE = "/game/modhost.config.json";

function refusal(text: string): { file?: string; field?: string; message: string; line?: number } {
  try {
    parseProjectConfig(text, FILE);
  } catch (err) {
    if (!isModhostError(err, "E_CONFIG_INVALID")) throw err;
    return { ...err.location, message: err.message };
  }
  throw new Error("accepted");
}

describe("project file", () => {
  it("reads capabilities with their stubs, grants, types relative to the file, limits and dev.emit", () => {
    const config = parseProjectConfig(
      JSON.stringify({
        capabilities: { notify: {}, roll: { answer: 4, log: false } },
        grants: { shop: ["notify", "roll"] },
        types: "types/game.d.ts",
        limits: { memoryMb: 64 },
        dev: { emit: { event: "tick" } },
      }),
      FILE,
    );
    expect(config).toEqual({
      file: FILE,
      capabilities: { notify: { answer: null, log: true }, roll: { answer: 4, log: false } },
      grants: { shop: ["notify", "roll"] },
      types: ["/game/types/game.d.ts"],
      limits: { memoryMb: 64 },
      devEmit: { event: "tick", payload: null },
    });
  });

  it("refuses every wrong field, naming it", () => {
    expect(refusal("{}\n{")).toMatchObject({ message: expect.stringContaining("not JSON") });
    expect(refusal('{ "capabilites": {} }')).toMatchObject({ field: "capabilites", message: expect.stringContaining("unknown field (allowed: $schema, capabilities,") });
    expect(refusal('{ "capabilities": { "notify": { "anwser": 1 } } }')).toMatchObject({ field: "capabilities.notify.anwser" });
    expect(refusal('{ "grants": { "shop": ["notify"] } }')).toMatchObject({ field: "grants.shop[0]", message: expect.stringContaining('add "notify": { "answer": null } to "capabilities"') });
    expect(refusal('{ "grants": { "Shop!": [] } }')).toMatchObject({ field: "grants.Shop!" });
    expect(refusal('{ "types": ["game.ts"] }')).toMatchObject({ field: "types[0]" });
    expect(refusal('{ "limits": { "memoryMb": 2 } }')).toMatchObject({ field: "limits.memoryMb", message: expect.stringContaining("at least 8") });
    expect(refusal('{ "dev": { "emit": { "payload": 1 } } }')).toMatchObject({ field: "dev.emit.event" });
    expect(refusal("[]")).toMatchObject({ file: FILE, message: expect.stringContaining("must be an object") });
  });
});

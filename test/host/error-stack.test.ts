import { afterEach, describe, expect, it } from "vitest";
import { ModHost } from "modhost";
import { ISOLATIONS, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  mods = undefined;
});

const MAIN = `import { defineMod } from "@modhost/sdk";
import { check } from "./rules.js";
type S = {};
export default defineMod<S>({
  on: {
    buy(_s, e: { n: number }) {
      return check(e.n);
    },
  },
});
`;
const RULES = `export function check(n: number): number {
  if (n < 0) {
    throw new Error("negative");
  }
  return n;
}
`;

describe.each(ISOLATIONS)("E_THREW stack (%s isolation)", (isolation) => {
  it("carries every frame of the mod's code, mapped to .ts file:line", async () => {
    mods = await makeModsDir({ shop: { ...simpleMod("shop", MAIN), "rules.ts": RULES } });
    host = await ModHost.create({ modsDir: mods.dir, isolation });
    const [r] = await host.emit("buy", { n: -1 });
    expect(r).toMatchObject({ ok: false, error: { code: "E_THREW", file: "rules.ts", line: 3 } });
    const stack = r?.error?.stack ?? "";
    const frames = stack.split("\n").filter((l) => /^\s*at /.test(l));
    expect(frames[0]).toMatch(/rules\.ts:3:\d+\)?$/);
    expect(frames[1]).toMatch(/main\.ts:7:\d+\)?$/);
    // Only the mod's own frames: no compiled .js positions, no sandbox or engine frames.
    expect(frames.every((f) => /\.ts:\d+:\d+\)?$/.test(f))).toBe(true);
  });

  it("gives a timeout one frame, at the statement it was running (found by a profiled replay)", async () => {
    mods = await makeModsDir({ m: simpleMod("m", `export default { on: { spin() { for (;;) {} } } };`, { limits: { callTimeoutMs: 50 } }) });
    host = await ModHost.create({ modsDir: mods.dir, isolation });
    const [r] = await host.emit("spin");
    expect(r?.error?.code).toBe("E_TIMEOUT");
    const frames = (r?.error?.stack ?? "").split("\n").filter((l) => /^\s*at /.test(l));
    expect(frames).toEqual([expect.stringMatching(/^\s+at main\.ts:1:\d+$/)]);
  });
});

import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeOutcome, loadMod, type LoadedMod } from "@modhost/sdk/testing";
import "@modhost/sdk/testing/vitest";

// Keep the loop on line 9: the test asserts it.
const MAIN = `import { defineMod } from "@modhost/sdk";
type State = { hp: number };
export default defineMod<State>({
  init: () => ({ hp: 3 }),
  on: {
    hit(state) {
      state.hp -= 1;
      // regenerates "until full", which never happens once hp went below zero
      while (state.hp < 0 && state.hp !== 3) {
        state.hp = state.hp - 1 + 1;
      }
      return state.hp;
    },
  },
});
`;

describe("@modhost/sdk/testing: a timeout's location", () => {
  let work: string;
  let mod: LoadedMod | undefined;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "modhost-harness-timeout-"));
    const dir = join(work, "regen");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "mod.json"), JSON.stringify({ name: "regen", version: "1.0.0", entry: "main.ts", permissions: [], limits: { callTimeoutMs: 50 } }));
    await writeFile(join(dir, "main.ts"), MAIN);
    mod = await loadMod(dir);
  }, 60_000);
  afterAll(async () => {
    await mod?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("reports E_TIMEOUT at the loop that state made endless, in results and in matcher messages", async () => {
    const m = mod as LoadedMod;
    for (const hp of [2, 1, 0]) expect(await m.emit("hit", {})).toMatchObject({ ok: true, value: hp });
    const r = await m.emit("hit", {});
    expect(r).toFailWith("E_TIMEOUT");
    expect(r.error).toMatchObject({ code: "E_TIMEOUT", file: "main.ts" });
    expect([9, 10]).toContain(r.error?.line);
    expect(describeOutcome(r)).toMatch(/^regen: E_TIMEOUT .* \(at main\.ts:(9|10):\d+\)\nE_TIMEOUT: .*\n\s+at main\.ts:(9|10):\d+$/);
    // The state is as before the timed-out event (its changes were undone).
    expect(await m.state()).toEqual({ hp: 0 });
  });
});

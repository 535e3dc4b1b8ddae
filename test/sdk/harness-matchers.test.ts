import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeOutcome, loadMod, ModTestError, type LoadedMod } from "@modhost/sdk/testing";
import "@modhost/sdk/testing/vitest";

// The line numbers below are asserted: keep `throw` on line 9 and `now` on line 12.
const CLOCK = `import { defineMod } from "@modhost/sdk";
type State = { seen: number[] };
export default defineMod<State>({
  init: () => ({ seen: [] }),
  on: {
    fail() {
      const why = "boom";
      // the next line throws
      throw new Error(why);
    },
    now(state) {
      const t = Date.now();
      state.seen.push(t);
      return { t, iso: new Date().toISOString() };
    },
  },
});
`;

let work: string;
let mod: LoadedMod | undefined;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "modhost-matchers-test-"));
});
afterEach(async () => {
  await mod?.close();
  mod = undefined;
  await rm(work, { recursive: true, force: true });
});

async function modFolder(main: string): Promise<string> {
  const dir = join(work, "clock");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mod.json"), JSON.stringify({ name: "clock", version: "1.0.0", entry: "main.ts", permissions: [] }));
  await writeFile(join(dir, "main.ts"), main);
  return dir;
}

/** The message of the assertion error `fn` throws. */
function failureOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("the assertion passed");
}

describe("@modhost/sdk/testing/vitest: matchers", () => {
  it("toBeOk passes for ok results and, failing, shows the code, the message and the .ts location", async () => {
    mod = await loadMod(await modFolder(CLOCK));
    const ok = await mod.emit("now", {});
    expect(ok).toBeOk();
    expect(await mod.host.emit("now", {})).toBeOk();

    const failed = await mod.emit("fail", {});
    expect(failed).not.toBeOk();
    const message = failureOf(() => expect(failed).toBeOk());
    expect(message).toContain("expected ok, got clock: E_THREW");
    expect(message).toContain("boom");
    expect(message).toContain("(at main.ts:9:");
    // toMatchObject({ ok: true }) is what the matcher replaces: its message is a diff of the object.
    expect(describeOutcome(failed)).toMatch(/^clock: E_THREW .*boom.* \(at main\.ts:9:\d+\)/);
  });

  it("toFailWith checks the code, for one result, an array of results and a swap report", async () => {
    mod = await loadMod(await modFolder(CLOCK));
    expect(await mod.emit("fail", {})).toFailWith("E_THREW");
    expect(await mod.host.emit("fail", {})).toFailWith("E_THREW");
    expect(await mod.emit("now", {})).not.toFailWith("E_THREW");
    const message = failureOf(() => expect({ ok: false, error: { code: "E_TIMEOUT", message: "ran past 50 ms", file: "main.ts", line: 3, column: 0 } }).toFailWith("E_THREW"));
    expect(message).toBe("expected a failure with E_THREW, got E_TIMEOUT ran past 50 ms (at main.ts:3:1)");

    const report = await mod.patch({ "main.ts": "export default {" });
    expect(report).toFailWith("E_SYNTAX");
    expect(failureOf(() => expect(report).toBeOk())).toMatch(/E_SYNTAX .* \(at main\.ts:1:\d+\)/);
  });

  it("says what it got when the value is no modhost result", () => {
    expect(failureOf(() => expect({ value: 1 }).toBeOk())).toContain('{"value":1} (not a modhost result');
    expect(failureOf(() => expect([]).toBeOk())).toContain("no results (no mod handles this event)");
  });
});

describe("@modhost/sdk/testing: the logical clock", () => {
  it("handlers see the time set with `now`, setNow() and advance(), in Date.now() and new Date()", async () => {
    const start = Date.UTC(2030, 0, 1);
    mod = await loadMod(await modFolder(CLOCK), { now: new Date(start) });
    expect(mod.now).toBe(start);
    expect(await mod.value("now", {})).toEqual({ t: start, iso: "2030-01-01T00:00:00.000Z" });
    expect(await mod.value("now", {})).toMatchObject({ t: start });
    mod.advance(1500);
    expect(await mod.value("now", {})).toMatchObject({ t: start + 1500 });
    mod.setNow(0);
    expect(await mod.value("now", {})).toEqual({ t: 0, iso: "1970-01-01T00:00:00.000Z" });
    expect(await mod.state()).toEqual({ seen: [start, start, start + 1500, 0] });
    // The test process's own clock is untouched (it is not 1970 here).
    expect(Date.now()).toBeGreaterThan(Date.UTC(2020, 0, 1));
  });

  it("without a clock events see the real time; a bad time is refused with E_CLOCK", async () => {
    mod = await loadMod(await modFolder(CLOCK));
    expect(mod.now).toBeUndefined();
    const before = Date.now();
    const { t } = (await mod.value("now", {})) as { t: number };
    expect(t).toBeGreaterThanOrEqual(before);
    expect(() => mod?.setNow(Number.NaN)).toThrow(ModTestError);
    expect(() => mod?.advance(-1)).toThrow(expect.objectContaining({ code: "E_CLOCK" }));
  });
});

describe("@modhost/sdk/testing: the game's types from the mod's tsconfig.json", () => {
  const GAME = `export {};\ndeclare module "@modhost/sdk" {\n  interface ModEvents { hit: { player: string } }\n}\n`;
  const V1 = `import { defineMod } from "@modhost/sdk";\nexport default defineMod({\n  on: {\n    hit(_state, e) {\n      return e.player.toUpperCase();\n    },\n  },\n});\n`;
  const V2 = V1.replace("toUpperCase", "toLowerCase");

  it("swaps are type-checked against the .d.ts the tsconfig names, without modTypes", async () => {
    const dir = await modFolder(V1);
    await writeFile(join(work, "game.d.ts"), GAME);
    await writeFile(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true }, modhost: { types: ["../game.d.ts"] } }));
    mod = await loadMod(dir);
    expect(await mod.value("hit", { player: "Ann" })).toBe("ANN");
    expect(await mod.patch({ "main.ts": V2 })).toBeOk();
    expect(await mod.value("hit", { player: "Ann" })).toBe("ann");
    await mod.close();

    // The same mod without the game's types: `e` is unknown. Its first load is refused as a swap
    // would be, with the same E_TYPE at the .ts line (`modhost check` rejects it too).
    await rm(join(dir, "tsconfig.json"));
    mod = undefined;
    const refused = await loadMod(dir).catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: "E_MOD_NOT_LOADED", error: { code: "E_TYPE", file: "main.ts", line: 5 } });
    expect((refused as Error).message).toContain("(main.ts:5:");
  }, 120_000);
});

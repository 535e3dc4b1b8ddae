/**
 * The SDK's types must refuse what the sandbox would refuse or what the game did not declare. Each
 * case is a whole mod checked twice: as an editor (tsc) sees it, and by the engine's reload gate
 * (a patch with a type error is refused with E_TYPE and the TypeScript code in its message).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMod, type LoadedMod } from "@modhost/sdk/testing";
import { fileURLToPath } from "node:url";
import { typeCheckFiles, typeCheckProject } from "./type-check-files.js";

/** The game's declarations every case is checked against. */
const GAME_TYPES = `export {};
declare module "@modhost/sdk" {
  export interface Hit { readonly player: string; readonly damage: number }
  interface ModEvents { hit: Hit; chat: { text: string } }
  interface ModResults { hit: number }
  interface ModCapabilities { broadcast(message: string): void; kick(player: string): boolean }
}
`;

/** A mod that uses everything correctly; each failing case changes one thing. */
const VALID = `import { defineMod } from "@modhost/sdk";
interface Fighter { hp: number }
type State = { hits: Record<string, number>; best: Fighter };
export default defineMod<State, "broadcast">({
  init: () => ({ hits: {}, best: { hp: 100 } }),
  migrate: (old) => old as State,
  on: {
    hit(state, e, ctx) {
      state.hits[e.player] = (state.hits[e.player] ?? 0) + e.damage;
      ctx.host.broadcast(e.player + " hit");
      return state.hits[e.player] ?? 0;
    },
    chat(state, e) {
      return e.text.length > 3 ? state.best : null;
    },
  },
});
`;

/** Replaces one unique fragment of VALID (the test fails if it is not there exactly once). */
function change(from: string, to: string): string {
  if (VALID.split(from).length !== 2) throw new Error(`fragment not found exactly once: ${from}`);
  return VALID.replace(from, to);
}

/**
 * `code`: the TypeScript error an editor shows. `gate`: the engine's code when the reload gate
 * refuses the patch before type-checking it (its static safety rules run first).
 */
const FAILING: readonly { readonly what: string; readonly code: number; readonly main: string; readonly gate?: string }[] = [
  { what: "a handler for an event the game does not declare", code: 2353, main: change("    chat(state, e) {", "    explode() {\n      return 1;\n    },\n    chat(state, e) {") },
  { what: "a payload property the event does not have", code: 2339, main: change("e.damage;", "e.dmg;") },
  { what: "a payload property used as the wrong type", code: 2322, main: change("state.hits[e.player] = (state.hits[e.player] ?? 0) + e.damage;", "const name: number = e.player; state.hits[name] = 1;") },
  { what: "an async handler (a handler returning a Promise)", code: 2322, main: change("    chat(state, e) {", "    async chat(state, e) {") },
  { what: "a result of the wrong type where the game declares one", code: 2322, main: change("return state.hits[e.player] ?? 0;", 'return "hit";') },
  { what: "a capability the mod did not ask for", code: 2339, main: change('ctx.host.broadcast(e.player + " hit");', "ctx.host.kick(e.player);") },
  { what: "a capability called with the wrong arguments", code: 2345, main: change('ctx.host.broadcast(e.player + " hit");', "ctx.host.broadcast(42);") },
  { what: "a permission the game does not offer", code: 2344, main: change('defineMod<State, "broadcast">', 'defineMod<State, "broadcast" | "fly">') },
  { what: "a capability called unchecked when the mod does not list its permissions", code: 2722, main: change('defineMod<State, "broadcast">', "defineMod<State>") },
  { what: "an init() that does not build the state", code: 2322, main: change("init: () => ({ hits: {}, best: { hp: 100 } }),", "init: () => ({ hits: {} }),") },
  { what: "a Node global, which does not exist in the sandbox", code: 2591, main: change("return state.hits[e.player] ?? 0;", "return process.pid;"), gate: "E_UNSAFE_CODE" },
  { what: "a timer, which does not exist in the sandbox", code: 2304, main: change("return state.hits[e.player] ?? 0;", "return setTimeout(() => 1, 1);"), gate: "E_UNSAFE_CODE" },
];

const PASSING: readonly { readonly what: string; readonly main: string }[] = [
  { what: "the valid mod", main: VALID },
  { what: "an unchecked call of an optional capability (`?.`) without listed permissions", main: change('defineMod<State, "broadcast">', "defineMod<State>").replace('ctx.host.broadcast(e.player + " hit");', 'ctx.host.broadcast?.(e.player + " hit");') },
  {
    what: "defineMod without type arguments (the state inferred from init)",
    main: `import { defineMod } from "@modhost/sdk";
export default defineMod({
  init: () => ({ n: 0 }),
  migrate: () => ({ n: 0 }),
  on: { chat(state) { state.n++; return state.n; }, hit: (state, e) => state.n + e.damage },
});
`,
  },
  {
    what: "a handler with no return, and one returning a game type",
    main: `import { defineMod, type Hit } from "@modhost/sdk";
type State = { last: Hit | null };
export default defineMod<State>({
  init: () => ({ last: null }),
  migrate: () => ({ last: null }),
  on: { chat(state) { state.last = null; }, hit(state, e) { state.last = e; return e.damage; } },
});
`,
  },
];

describe("SDK types, as an editor checks a mod", () => {
  it.each(FAILING)("refuses $what (TS$code)", ({ main, code }) => {
    const found = typeCheckFiles({ "game.d.ts": GAME_TYPES, "main.ts": main }, "sandbox");
    expect(found.map((d) => d.code)).toEqual([code]);
  });

  it.each(PASSING)("accepts $what", ({ main }) => {
    expect(typeCheckFiles({ "game.d.ts": GAME_TYPES, "main.ts": main }, "sandbox")).toEqual([]);
  });

  it("types handlers openly while the game declares no events (any name, annotated payloads)", () => {
    const main = `import { defineMod } from "@modhost/sdk";
type State = { seen: number };
export default defineMod<State>({
  init: () => ({ seen: 0 }),
  on: { anything(state, e: { x: number }) { state.seen += e.x; return state.seen; } },
});
`;
    expect(typeCheckFiles({ "main.ts": main }, "sandbox")).toEqual([]);
    // Still no Promise from a handler, even without declared events.
    const asyncMain = main.replace("anything(state", "async anything(state");
    expect(typeCheckFiles({ "main.ts": asyncMain }, "sandbox").map((d) => d.code)).toEqual([2322]);
  });
});

describe("@modhost/sdk/testing types, in a test with the game's declarations", () => {
  const test = (body: string) => `import { loadMod } from "@modhost/sdk/testing";
export async function run(): Promise<void> {
  const mod = await loadMod("mods/typed");
${body}
  await mod.close();
}
`;
  it("types emit() and value() by the game's events and results", () => {
    const ok = test(`  const total: number = await mod.value("hit", { player: "ann", damage: 2 });
  const result = await mod.emit("chat", { text: "hi" });
  void total;
  void result.ok;`);
    expect(typeCheckFiles({ "game.d.ts": GAME_TYPES, "run.ts": ok }, "node")).toEqual([]);
  });

  it.each([
    ["an event the game does not declare", 'await mod.emit("explode", {});', 2345],
    ["a payload missing a field", 'await mod.value("hit", { player: "ann" });', 2345],
    ["a result used as the wrong type", 'const text: string = await mod.value("hit", { player: "ann", damage: 2 }); void text;', 2322],
  ])("refuses %s", (_what, body, code) => {
    expect(typeCheckFiles({ "game.d.ts": GAME_TYPES, "run.ts": test(`  ${body}`) }, "node").map((d) => d.code)).toEqual([code]);
  });

  it("the SDK's own suites type-check (test/sdk/tsconfig.json)", () => {
    const { diagnostics } = typeCheckProject(fileURLToPath(new URL("./tsconfig.json", import.meta.url)));
    expect(diagnostics).toEqual([]);
  });
});

describe("SDK types, as the engine's reload gate checks a patch", () => {
  let dir: string;
  let mod: LoadedMod | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "modhost-sdk-types-"));
    await writeFile(join(dir, "game.d.ts"), GAME_TYPES);
    await writeFile(join(dir, "mod.json"), JSON.stringify({ name: "typed", version: "1.0.0", entry: "main.ts", permissions: ["broadcast"] }));
    await writeFile(join(dir, "main.ts"), VALID);
    mod = await loadMod(dir, { modTypes: [join(dir, "game.d.ts")] });
  });
  afterAll(async () => {
    await mod?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(FAILING)("refuses $what", async ({ main, code, gate }) => {
    const report = await mod!.patch({ "main.ts": main });
    expect(report).toMatchObject({ ok: false, kind: "rejected", error: { code: gate ?? "E_TYPE", file: "main.ts" } });
    if (gate === undefined) expect(report.error?.message).toContain(`(TS${code})`);
    expect(mod!.version).toBe("1.0.0");
  });

  it.each(PASSING)("accepts $what", async ({ main }) => {
    const report = await mod!.patch({ "main.ts": main });
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
  });
});

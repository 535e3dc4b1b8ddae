/**
 * A dispatch call stopped before it began running events (here: its batch is so large that
 * parsing it outlasts the time limit) must not be credited with the previous call's results. Before
 * each call claimed a number in the prelude, collect() and sliceFinished() answered with the last
 * slice's results and "ran to the end": the event was answered ok with the previous event's value
 * and its effect was never applied (an acknowledged event lost).
 */
import { afterEach, expect, it } from "vitest";
import { ModHost } from "modhost";
import { ISOLATIONS, makeModsDir, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  mods = undefined;
});

const MAIN = `import { defineMod } from "@modhost/sdk";
type State = { n: number };
export default defineMod<State>({
  init: () => ({ n: 0 }),
  on: { hit(state, e: { pad: string }) { state.n++; return state.n; } },
});
`;

it.each(ISOLATIONS)("a call cut before it ran anything is not answered with the previous call's results (%s isolation)", async (isolation) => {
  const manifest = { name: "counter", version: "1.0.0", entry: "main.ts", permissions: [], limits: { callTimeoutMs: 5 } };
  mods = await makeModsDir({ counter: { "mod.json": JSON.stringify(manifest), "main.ts": MAIN } });
  host = await ModHost.create({ modsDir: mods.dir, isolation });
  const first = (await host.emit("hit", { pad: "" }))[0];
  expect(first).toMatchObject({ ok: true, value: 1 });
  // One batch whose parse alone takes longer than 5 ms: its calls are cut before any event runs.
  const pad = "x".repeat(200_000);
  const rest = (await Promise.all(Array.from({ length: 20 }, () => host!.emit("hit", { pad })))).map((r) => r[0]!);
  const answered = [first!, ...rest].filter((r) => r.ok).map((r) => (r as { value: number }).value);
  // Every ok answer saw the one before it: no value twice, and the state holds exactly those events.
  expect(answered).toEqual(answered.map((_, i) => i + 1));
  expect(await host.state("counter")).toEqual({ n: answered.length });
  // The rest failed as what they are (a time limit, then the quarantine it led to), not as ok.
  for (const r of rest) if (!r.ok) expect(["E_TIMEOUT", "E_QUARANTINED"]).toContain(r.error?.code);
}, 120_000);

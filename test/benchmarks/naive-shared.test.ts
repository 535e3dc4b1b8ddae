/**
 * The floor of a one-thread inline loader (benchmarks/peers/naive-ivm.js NaiveIvmSharedTextLoader,
 * run by probes/alone.js and probes/hundred.js): it must answer exactly what the naive loader
 * answers, for mods that handle every event of a tick (one shared text) and for mods that handle
 * some (their own text), or its figure is not the same work done more cheaply. Runs in a child
 * process: isolated-vm needs --no-node-snapshot.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const CHILD = `
import { NaiveIvmLoader, NaiveIvmSharedTextLoader } from "./benchmarks/peers/naive-ivm.js";
import { attackPayloads, combatMod } from "./benchmarks/lib/fixtures.js";
const partial = combatMod(10).replace("attack(state, e: Attack) {", "hit(state, e: Attack) {");
const mods = { a: combatMod(10), b: partial, c: combatMod(10) };
const tick = attackPayloads(10, 6).map((payload, i) => [i % 2 === 0 ? "attack" : "hit", payload]);
const out = {};
for (const Loader of [NaiveIvmLoader, NaiveIvmSharedTextLoader]) {
  const loader = await Loader.create(mods);
  try {
    out[Loader.peer] = [loader.emitBatch(tick), loader.emitBatch(tick)];
  } finally {
    loader.close();
  }
}
console.log(JSON.stringify(out));
`;

describe("the naive loader writing a tick's JSON once", () => {
  it("answers what the naive loader answers, for mods given the whole tick and mods given part of it", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--no-node-snapshot", "--input-type=module", "-e", CHILD], { cwd: ROOT, timeout: 120_000 });
    const out = JSON.parse(stdout) as Record<string, { mod: string; ok: boolean }[][][]>;
    const naive = out["naive_ivm"];
    expect(naive?.[0]).toHaveLength(6);
    // Events named "attack" reach a and c, "hit" only b: every result ok.
    expect(naive?.[0]?.map((results) => results.map((r) => `${r.mod}:${r.ok}`).join(","))).toEqual(["a:true,c:true", "b:true", "a:true,c:true", "b:true", "a:true,c:true", "b:true"]);
    // Math.random is not seeded in either loader: the crit flag (and the damage it doubles) may differ.
    const strip = (ticks: unknown) => JSON.stringify(ticks, (key, value: unknown) => (key === "crit" || key === "damage" || key === "hp" || key === "killed" ? undefined : value));
    expect(strip(out["naive_ivm_shared"])).toBe(strip(naive));
  }, 150_000);
});

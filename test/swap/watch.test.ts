import { afterEach, describe, expect, it } from "vitest";
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModHost, type SwapReport } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  mods = undefined;
});

const DOUBLE = COUNTER_MAIN.replace("(state.hits[e.player] ?? 0) + 1", "(state.hits[e.player] ?? 0) + 2");
const TRIPLE = COUNTER_MAIN.replace("(state.hits[e.player] ?? 0) + 1", "(state.hits[e.player] ?? 0) + 3");

async function watched(): Promise<SwapReport[]> {
  mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN) });
  host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", watch: true, typecheck: "off" });
  const reports: SwapReport[] = [];
  host.on("swap", (r) => reports.push(r));
  return reports;
}
const hit = async () => (await host!.emit("hit", { player: "p" }))[0];

describe("watch", () => {
  it("an editor's atomic save (temp file + rename) reloads the mod once, keeping state", async () => {
    const reports = await watched();
    await hit();
    const temp = join(mods!.dir, "counter", ".main.ts.tmp-1");
    await writeFile(temp, DOUBLE);
    await rename(temp, join(mods!.dir, "counter", "main.ts"));
    await expect.poll(() => reports.length, { timeout: 30_000 }).toBe(1);
    expect(reports[0]).toMatchObject({ ok: true, kind: "swap", mod: "counter" });
    expect(await hit()).toMatchObject({ value: 3 });
  });

  it("a burst of saves becomes one reload of the last content", async () => {
    const reports = await watched();
    const main = join(mods!.dir, "counter", "main.ts");
    await writeFile(main, DOUBLE);
    await writeFile(main, COUNTER_MAIN);
    await writeFile(main, TRIPLE);
    await expect.poll(() => reports.length, { timeout: 30_000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(reports.filter((r) => r.kind === "swap")).toHaveLength(1);
    expect(await hit()).toMatchObject({ value: 3 });
  });

  it("a bad save is reported and the next good save goes through", async () => {
    const reports = await watched();
    const main = join(mods!.dir, "counter", "main.ts");
    await writeFile(main, "export default {{{");
    // A loaded machine may split one write into two change bursts: every report must be a refusal.
    await expect.poll(() => reports.length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(reports.every((r) => r.kind === "rejected" && r.error?.code === "E_SYNTAX" && r.error.file === "main.ts")).toBe(true);
    expect(await hit()).toMatchObject({ ok: true, value: 1 });
    await writeFile(main, DOUBLE);
    await expect.poll(() => reports.some((r) => r.kind === "swap"), { timeout: 30_000 }).toBe(true);
    expect(reports.filter((r) => r.kind === "swap")).toHaveLength(1);
    expect(await hit()).toMatchObject({ value: 3 });
  });

  it("a new mod folder loads, a removed one unloads", async () => {
    const reports = await watched();
    await mods!.write("greeter", simpleMod("greeter", `export default { on: { hello: () => "hi" } };`));
    await expect.poll(() => host!.mods().map((m) => m.name), { timeout: 30_000 }).toEqual(["counter", "greeter"]);
    expect(await host!.emit("hello", {})).toEqual([{ mod: "greeter", version: "1.0.0", ok: true, value: "hi" }]);
    // Writing mod.json and main.ts may reach the watcher as two bursts: a load, then a no-op reload.
    const greeter = reports.filter((r) => r.mod === "greeter");
    expect(greeter[0]).toMatchObject({ ok: true, kind: "swap", to: "1.0.0" });
    expect(greeter.slice(1).every((r) => r.ok && r.kind === "noop")).toBe(true);
    await rm(join(mods!.dir, "greeter"), { recursive: true });
    await expect.poll(() => host!.mods().map((m) => m.name), { timeout: 30_000 }).toEqual(["counter"]);
    expect(await host!.emit("hello", {})).toEqual([]);
  });

  it("a mod that failed to load comes up once its folder is fixed", async () => {
    mods = await makeModsDir({ broken: simpleMod("broken", "export default {{") });
    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", watch: true, typecheck: "off" });
    expect(host.mods()[0]).toMatchObject({ name: "broken", status: "faulted" });
    await writeFile(join(mods.dir, "broken", "main.ts"), `export default { on: { ping: () => "pong" } };`);
    await expect.poll(() => host!.mods()[0]?.status, { timeout: 30_000 }).toBe("running");
    expect(await host.emit("ping", {})).toMatchObject([{ ok: true, value: "pong" }]);
  });
});

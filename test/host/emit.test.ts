import { afterEach, describe, expect, it } from "vitest";
import { ModHost } from "modhost";
import { COUNTER_MAIN, ISOLATIONS, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  mods = undefined;
});

describe.each(ISOLATIONS)("emit (%s isolation)", (isolation) => {
  it("runs a mod's handler and keeps its state between events", async () => {
    mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN) });
    host = await ModHost.create({ modsDir: mods.dir, isolation });
    expect(host.mods()).toEqual([{ name: "counter", version: "1.0.0", status: "running", hash: expect.any(String), origin: { source: "folder" } }]);
    expect(await host.emit("hit", { player: "ann" })).toEqual([{ mod: "counter", version: "1.0.0", ok: true, value: 1 }]);
    await host.emit("hit", { player: "ann" });
    await host.emit("hit", { player: "bob" });
    expect(await host.state("counter")).toEqual({ hits: { ann: 2, bob: 1 } });
    expect(await host.emit("unknown-event", {})).toEqual([]);
  }, 120_000); // a host start now type-checks its mod (a cold worker) on a loaded machine

  it("processes a thousand concurrent emits in order, exactly once", async () => {
    mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN) });
    host = await ModHost.create({ modsDir: mods.dir, isolation });
    const results = await Promise.all(Array.from({ length: 1000 }, () => host!.emit("hit", { player: "p" })));
    expect(results.map((r) => r[0]?.value)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  }, 120_000); // a host start now type-checks its mod (a cold worker) on a loaded machine

  it("reports a timeout as data, undoes the event, and keeps serving", async () => {
    const main = `export default { init: () => ({ n: 0 }), on: {
      inc(s: { n: number }) { return ++s.n; },
      spin(s: { n: number }) { s.n = 1000; for (;;) {} },
    } };`;
    mods = await makeModsDir({ m: simpleMod("m", main) });
    host = await ModHost.create({ modsDir: mods.dir, isolation });
    const faults: unknown[] = [];
    host.on("fault", (f) => faults.push(f));
    expect((await host.emit("inc"))[0]?.value).toBe(1);
    const [spun] = await host.emit("spin");
    expect(spun).toMatchObject({ ok: false, error: { code: "E_TIMEOUT" } });
    expect((await host.emit("inc"))[0]?.value).toBe(2);
    expect(faults).toHaveLength(1);
  }, 120_000); // a host start now type-checks its mod (a cold worker) on a loaded machine

  it("restores state after the memory limit kills the isolate", async () => {
    const main = `export default { init: () => ({ n: 0 }), on: {
      inc(s: { n: number }) { return ++s.n; },
      bomb(s: { n: number }) { s.n = -1; const a: number[][] = []; for (;;) a.push(new Array<number>(1e5).fill(s.n)); },
    } };`;
    mods = await makeModsDir({ m: simpleMod("m", main, { limits: { callTimeoutMs: 1000 } }) });
    host = await ModHost.create({ modsDir: mods.dir, isolation });
    await host.emit("inc");
    await host.emit("inc");
    const [bombed] = await host.emit("bomb");
    expect(bombed).toMatchObject({ ok: false, error: { code: "E_MEMORY_LIMIT" } });
    expect((await host.emit("inc"))[0]?.value).toBe(3);
    expect(host.mods()[0]?.status).toBe("running");
  }, 120_000); // a host start now type-checks its mod (a cold worker) on a loaded machine

  it("maps a thrown error to the mod's .ts line", async () => {
    const main = `import { defineMod } from "@modhost/sdk";
type S = {};
export default defineMod<S>({
  on: {
    boom() {
      throw new Error("kaboom");
    },
  },
});
`;
    mods = await makeModsDir({ m: simpleMod("m", main) });
    host = await ModHost.create({ modsDir: mods.dir, isolation });
    const [r] = await host.emit("boom");
    expect(r).toMatchObject({ ok: false, error: { code: "E_THREW", message: "Error: kaboom", file: "main.ts", line: 6 } });
  }, 120_000); // a host start now type-checks its mod (a cold worker) on a loaded machine
});

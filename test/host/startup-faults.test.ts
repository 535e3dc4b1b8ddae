/**
 * Faults raised inside create() are not lost: the mod is listed as faulted by mods(), and the fault
 * is replayed to a "fault" listener attached at any later time, not only right after create().
 */
import { describe, expect, it } from "vitest";
import { ModHost, type FaultEvent } from "modhost";
import { makeModsDir, simpleMod } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

const scratch = persistScratch();

const THROWS = `export default {
  init(): { n: number } { throw new Error("no config"); },
  on: { inc(s: { n: number }) { return ++s.n; } },
};
`;
const GOOD = `export default { init: () => ({ n: 0 }), on: { inc(s: { n: number }) { return ++s.n; } } };\n`;

describe("faults raised inside create()", () => {
  it("are kept in mods() and replayed to a fault listener added long after create()", async () => {
    const mods = (scratch.mods = await makeModsDir({ broken: simpleMod("broken", THROWS), good: simpleMod("good", GOOD) }));
    const host = await ModHost.create({ modsDir: mods.dir, isolation: "inline" });
    scratch.hosts.push(host);
    // Well past the startup window (the next macrotask): the game subscribes late.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await host.emit("inc");
    const faults: FaultEvent[] = [];
    host.on("fault", (fault) => faults.push(fault));
    expect(faults).toMatchObject([{ mod: "broken", version: "1.0.0", code: "E_THREW", quarantined: false }]);
    expect(faults[0]?.message).toContain("no config");
    expect(host.mods().find((m) => m.name === "broken")).toMatchObject({ status: "faulted", error: { code: "E_THREW", file: "main.ts", line: 2 } });
    // A second late listener hears it too; a fault after create() is not replayed to later listeners.
    const second: FaultEvent[] = [];
    host.on("fault", (fault) => second.push(fault));
    expect(second.map((f) => f.mod)).toEqual(["broken"]);
    expect(host.metrics().mods["broken"]?.faults).toBe(1);
  }, 120_000); // hosts on a loaded machine: a cold type-check each

  it("a host whose mods all came up replays nothing", async () => {
    const mods = (scratch.mods = await makeModsDir({ good: simpleMod("good", GOOD) }));
    const host = await ModHost.create({ modsDir: mods.dir, isolation: "inline" });
    scratch.hosts.push(host);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const faults: FaultEvent[] = [];
    host.on("fault", (fault) => faults.push(fault));
    expect(faults).toEqual([]);
  }, 120_000); // hosts on a loaded machine: a cold type-check each
});

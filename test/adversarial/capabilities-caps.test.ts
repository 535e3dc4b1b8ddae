/**
 * Capability calls and answers are capped per call and per event, and each cap blames the right
 * party (issue 10, finding 12): a mod making too many calls gets E_CAPABILITY_LIMIT (its fault,
 * and it can handle it); a game answering too much gets E_CAPABILITY_FAILED (the game's fault,
 * never counted towards quarantine). The journal record of one event stays small.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ISOLATIONS } from "../support/mod-fixture.js";
import { answer, handlerMod, info, startRig, value, type Rig } from "./harness.js";

const LOOP = `
  let answered = 0, refused = 0, code = "";
  for (let i = 0; i < p.calls; i++) {
    try { ctx.host[p.name](i); answered++; } catch (e: any) { refused++; code = e.code; }
  }
  s.n++;
  return { answered, refused, code };
`;

describe.each(ISOLATIONS)("capability caps (%s isolation)", (isolation) => {
  let rig: Rig | undefined;
  let stateDir: string | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
    stateDir = undefined;
  });

  it("caps the calls of one event: 20k calls reach the game 1000 times and journal a small record", async () => {
    let echoed = 0;
    stateDir = await mkdtemp(join(tmpdir(), "modhost-caps-"));
    rig = await startRig(
      { looper: handlerMod("looper", { loop: LOOP, inc: "return ++s.n;" }, { manifest: { permissions: ["echo"], limits: { callTimeoutMs: 1000 } } }) },
      { isolation, stateDir, capabilities: { echo: (i: number) => (echoed++, { i, pad: "p".repeat(100) }) }, grants: { looper: ["echo"] } },
    );
    const got = (await value(rig.host, "looper", "loop", { name: "echo", calls: 20_000 })) as { answered: number; refused: number; code: string };
    expect(got).toEqual({ answered: 1000, refused: 19_000, code: "E_CAPABILITY_LIMIT" });
    expect(echoed).toBe(1000);
    // The next event gets its own 1000 calls.
    expect(await value(rig.host, "looper", "loop", { name: "echo", calls: 10 })).toEqual({ answered: 10, refused: 0, code: "" });
    expect(rig.faults).toEqual([]);
    const dir = join(stateDir, "mods", "looper");
    const journals = (await readdir(dir)).filter((f) => f.startsWith("journal-"));
    let bytes = 0;
    for (const f of journals) bytes += (await stat(join(dir, f))).size;
    // 1001 answers of ~150 characters: far from the 16 MiB one such event used to write.
    expect(bytes).toBeLessThan(1024 * 1024);
  });

  it("blames the game for a 50 MB answer (E_CAPABILITY_FAILED, no fault, no quarantine) and the mod keeps its state", async () => {
    rig = await startRig(
      { taker: handlerMod("taker", { take: "return ctx.host.huge().length;", inc: "return ++s.n;" }, { manifest: { permissions: ["huge"], limits: { callTimeoutMs: 1000 } } }) },
      { isolation, capabilities: { huge: () => "x".repeat(50_000_000) }, grants: { taker: ["huge"] } },
    );
    expect(await value(rig.host, "taker", "inc")).toBe(1);
    for (let i = 0; i < 4; i++) {
      const r = await answer(rig.host, "taker", "take");
      expect(r).toMatchObject({ ok: false, error: { code: "E_CAPABILITY_FAILED", message: expect.stringMatching(/host\.huge\(\) answered 50000002 characters, over the 1048576 character cap/) } });
    }
    expect(rig.faults).toEqual([]);
    expect(info(rig.host, "taker").status).toBe("running");
    expect(await value(rig.host, "taker", "inc")).toBe(2);
  });

  it("caps the answer characters one event collects (E_CAPABILITY_LIMIT), configurable per host", async () => {
    rig = await startRig(
      { reader: handlerMod("reader", { loop: LOOP }, { manifest: { permissions: ["page"], limits: { callTimeoutMs: 1000 } } }) },
      { isolation, capabilities: { page: () => "y".repeat(3000) }, grants: { reader: ["page"] }, limits: { capabilityBytesPerEvent: 10_000, capabilityAnswerBytes: 5000 } },
    );
    expect(await value(rig.host, "reader", "loop", { name: "page", calls: 10 })).toEqual({ answered: 4, refused: 6, code: "E_CAPABILITY_LIMIT" });
  });

  it("caps the calls per event as the host options say", async () => {
    rig = await startRig(
      { looper: handlerMod("looper", { loop: LOOP }, { manifest: { permissions: ["echo"], limits: { callTimeoutMs: 1000 } } }) },
      { isolation, capabilities: { echo: () => 1 }, grants: { looper: ["echo"] }, limits: { capabilityCallsPerEvent: 5 } },
    );
    expect(await value(rig.host, "looper", "loop", { name: "echo", calls: 8 })).toEqual({ answered: 5, refused: 3, code: "E_CAPABILITY_LIMIT" });
  });
});

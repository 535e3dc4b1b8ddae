/**
 * The tick API, host.emitMany(): against real isolates, its results are what a loop of emit()
 * gives; a failing event fails only its own mod's result; capability calls inside a tick are
 * answered once; a swap lands between ticks; bad input is refused whole, naming the index. (A
 * sandbox crash mid-tick: test/adversarial/sandbox-crash.test.ts, sent by emit and by emitMany.)
 */
import { afterEach, describe, expect, it } from "vitest";
import { ModhostError, type EmitResult, type ModHostOptions, type TickEvent } from "modhost";
import { handlerMod, startRig, type Rig } from "../adversarial/harness.js";
import { ISOLATIONS, type ModFiles } from "../support/mod-fixture.js";

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});
async function rig(mods: Record<string, ModFiles>, options: Omit<ModHostOptions, "modsDir">): Promise<Rig> {
  const r = await startRig(mods, options);
  rigs.push(r);
  return r;
}

/** What a test compares: mod, ok, and the value or the error code. */
function brief(results: readonly EmitResult[]): unknown[] {
  return results.map((r) => [r.mod, r.ok, r.ok ? r.value : r.error?.code]);
}

const MODS = {
  // Both handle "hit"; only "scorer" handles "score": per event, the mods that answer differ.
  counter: handlerMod("counter", { hit: `s.n += 1; return s.n;` }),
  scorer: handlerMod("scorer", { hit: `s.n += p.points; return s.n;`, score: `return { total: s.n, at: Date.now() };` }),
};
const TICK: TickEvent[] = [
  { event: "hit", payload: { points: 2 } },
  { event: "score" },
  { event: "nobody-handles-this", payload: {} },
  { event: "hit", payload: { points: 5 } },
  { event: "score", payload: null },
];

describe.each(ISOLATIONS)("emitMany (%s isolation)", (isolation) => {
  it("gives, per event, what a loop of emit() gives, and leaves the same state", async () => {
    const many = await rig(MODS, { isolation });
    const loop = await rig(MODS, { isolation });
    const ticked = await many.host.emitMany(TICK);
    const looped: EmitResult[][] = [];
    for (const e of TICK) looped.push(await loop.host.emit(e.event, e.payload));
    // Date.now() differs between the two hosts: compare it as "present", then everything else exactly.
    const strip = (rs: EmitResult[][]) => rs.map((r) => brief(r).map((x) => JSON.stringify(x).replace(/"at":\d+/, '"at":T')));
    expect(strip(ticked)).toEqual(strip(looped));
    expect(ticked.map((r) => r.length)).toEqual([2, 1, 0, 2, 1]);
    expect(brief(ticked[0]!)).toEqual([
      ["counter", true, 1],
      ["scorer", true, 2],
    ]);
    expect(ticked[4]![0]).toMatchObject({ mod: "scorer", version: "1.0.0", ok: true, value: { total: 7 } });
    // One logical time for the whole tick.
    expect((ticked[1]![0]!.value as { at: number }).at).toBe((ticked[4]![0]!.value as { at: number }).at);
    for (const mod of ["counter", "scorer"]) expect(await many.host.state(mod)).toEqual(await loop.host.state(mod));
    expect(await many.host.emitMany([])).toEqual([]);
    expect(await many.host.emitMany([{ event: "nobody-handles-this" }])).toEqual([[]]);
  });

  it("orders ticks and emits by call: a later emit() or emitMany() runs after the whole tick", async () => {
    const r = await rig({ counter: MODS.counter }, { isolation });
    const before = r.host.emit("hit");
    const first = r.host.emitMany(Array.from({ length: 50 }, () => ({ event: "hit" })));
    const between = r.host.emit("hit");
    const second = r.host.emitMany([{ event: "hit" }, { event: "hit" }]);
    expect((await before)[0]?.value).toBe(1);
    expect((await first).map((rs) => rs[0]?.value)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect((await between)[0]?.value).toBe(52);
    expect((await second).map((rs) => rs[0]?.value)).toEqual([53, 54]);
  });

  it("fails only the faulting mod's result for the event that faulted; the rest of the tick runs", async () => {
    const r = await rig(
      {
        shaky: handlerMod("shaky", { hit: `s.n += 1; return s.n;`, spin: `s.n = 1000; for (;;) {}`, boom: `throw new Error("boom");` }, { manifest: { limits: { callTimeoutMs: 200 } } }),
        steady: handlerMod("steady", { hit: `s.n += 1; return s.n;`, spin: `return "no spin here";` }),
      },
      { isolation },
    );
    const results = await r.host.emitMany([{ event: "hit" }, { event: "spin" }, { event: "hit" }, { event: "boom" }, { event: "hit" }]);
    expect(results.map(brief)).toEqual([
      [["shaky", true, 1], ["steady", true, 1]],
      [["shaky", false, "E_TIMEOUT"], ["steady", true, "no spin here"]],
      [["shaky", true, 2], ["steady", true, 2]],
      [["shaky", false, "E_THREW"]],
      [["shaky", true, 3], ["steady", true, 3]],
    ]);
    // The timed-out event was undone: the state holds only the hits.
    expect(await r.host.state("shaky")).toEqual({ n: 3 });
    expect(r.faults.map((f) => [f.mod, f.code])).toEqual([["shaky", "E_TIMEOUT"]]);
    const metrics = r.host.metrics().mods;
    expect(metrics.shaky).toMatchObject({ events: 5, errors: { E_TIMEOUT: 1, E_THREW: 1 } });
    expect(metrics.shaky?.latencyBuckets.at(-1)).toBe(5);
    expect(metrics.steady).toMatchObject({ events: 4, errors: {} });
  });

  it("answers capability calls made inside a tick, each once, in order", async () => {
    const seen: unknown[] = [];
    const r = await rig(
      { caller: handlerMod("caller", { hit: `s.n += 1; return ctx.host.record(p.i) * 10 + s.n;` }, { manifest: { permissions: ["record"] } }) },
      { isolation, capabilities: { record: (i: unknown) => (seen.push(i), i) }, grants: { caller: ["record"] } },
    );
    const results = await r.host.emitMany(Array.from({ length: 20 }, (_, i) => ({ event: "hit", payload: { i } })));
    expect(results.map((rs) => rs[0]?.value)).toEqual(Array.from({ length: 20 }, (_, i) => i * 10 + i + 1));
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("lands a swap requested during a tick between ticks: no tick is answered by two versions", async () => {
    const v = (tag: string) => handlerMod("counter", { hit: `s.n += 1; return "${tag}:" + s.n;` });
    const r = await rig({ counter: v("v1") }, { isolation, typecheck: "off" });
    await r.mods.write("counter", { "main.ts": (v("v2")["main.ts"] as string) });
    let swapped = false;
    const ticks: Promise<EmitResult[][]>[] = [r.host.emitMany(Array.from({ length: 20 }, () => ({ event: "hit" })))];
    const reload = r.host.reload("counter").finally(() => (swapped = true));
    // Ticks keep coming while the swap compiles, stages and commits (and one after it).
    while (!swapped) {
      ticks.push(r.host.emitMany(Array.from({ length: 20 }, () => ({ event: "hit" }))));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    ticks.push(r.host.emitMany(Array.from({ length: 20 }, () => ({ event: "hit" }))));
    expect((await reload).ok).toBe(true);
    const all = await Promise.all(ticks);
    const tags = all.map((tick) => {
      const values = tick.map((rs) => String(rs[0]?.value));
      const versions = new Set(values.map((x) => x.split(":")[0]));
      expect(versions.size, `one version per tick: ${values.join(" ")}`).toBe(1);
      return [...versions][0];
    });
    expect(tags[0]).toBe("v1");
    expect(tags.at(-1)).toBe("v2");
    // Versions change once, and the count goes on across the swap: every event ran exactly once.
    expect(tags.findIndex((t) => t === "v2")).toBe(tags.lastIndexOf("v1") + 1);
    const counts = all.flat().map((rs) => Number(String(rs[0]?.value).split(":")[1]));
    expect(counts).toEqual(Array.from({ length: counts.length }, (_, i) => i + 1));
  });

  it("runs a tick longer than one slice in several, each event with its own payload, in order", async () => {
    // A slice is a tenth of the call timeout (2 ms here); each event takes ~0.3-0.5 ms of CPU (Date.now() is the tick's
    // logical time, so the work is counted): many slices,
    // and every slice after the first resumes in the middle of the tick's events.
    const busy = handlerMod("busy", { work: `let x = 0; for (let i = 0; i < 3e5; i++) x += i % 7; s.n += 1; return [s.n + (x < 0 ? 1 : 0), p.k, p.text];` }, { manifest: { name: "busy", limits: { callTimeoutMs: 20 } } });
    const r = await rig({ busy }, { isolation });
    const tick: TickEvent[] = Array.from({ length: 60 }, (_, k) => ({ event: "work", payload: { k, text: `line "${k}"\\ é` } }));
    const results = await r.host.emitMany(tick);
    expect(results.map((rs) => rs[0]?.value)).toEqual(tick.map((_, k) => [k + 1, k, `line "${k}"\\ é`]));
    expect(r.faults).toEqual([]);
  });

  it("refuses bad input whole, naming the index, and queues nothing", async () => {
    const r = await rig({ counter: MODS.counter }, { isolation });
    const refused = async (events: unknown): Promise<ModhostError> => {
      const err = await r.host.emitMany(events as TickEvent[]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ModhostError);
      expect((err as ModhostError).code).toBe("E_EVENT_INVALID");
      return err as ModhostError;
    };
    expect((await refused("hit")).message).toMatch(/array/);
    expect((await refused({ event: "hit" })).message).toMatch(/array/);
    expect((await refused([{ event: "hit" }, { event: "hit" }, { event: 7 }])).message).toMatch(/events\[2\]\.event/);
    expect((await refused([{ event: "hit" }, null])).message).toMatch(/events\[1\]/);
    expect((await refused([{ event: "hit" }, { event: "" }])).message).toMatch(/events\[1\]\.event/);
    expect((await refused([{ event: "hit", payload: { big: 1n } }])).message).toMatch(/events\[0\]\.payload/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect((await refused([{ event: "hit" }, { event: "hit", payload: cycle }])).message).toMatch(/events\[1\]\.payload/);
    // None of the valid events before a bad one ran.
    expect((await r.host.emit("hit"))[0]?.value).toBe(1);
    expect(r.host.metrics().mods.counter?.events).toBe(1);
  });
});

/**
 * Taking the sandbox process down (process isolation only: in inline isolation the same mods take
 * the host process down, by design). Real one-line crashers found against isolated-vm 5.0.4 on
 * Node 20, a wedge that ignores the time limit, and SIGKILLs while events are in flight. The
 * supervisor must survive each: the fault names the mod, the other mods keep their state and
 * serve, repeated offenders are quarantined, and every event is answered exactly once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { answer, counterMod, errorCode, handlerMod, info, startRig, value, type Rig } from "./harness.js";

const rigs: Rig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});
async function rig(...args: Parameters<typeof startRig>): Promise<Rig> {
  const r = await startRig(...args);
  rigs.push(r);
  return r;
}

/** One-line handlers that kill the sandbox process (measured: signal in the comment). */
const CRASHERS = {
  // "Fatal JavaScript invalid size error 134217728": V8 aborts instead of throwing (SIGTRAP).
  split: `return "a".repeat(2 ** 27).split("").length;`,
  // The hash table's next doubling is one allocation V8 cannot fit: CALL_AND_RETRY_LAST (SIGABRT).
  mapGrowth: `const m = new Map(); for (let i = 0; ; i++) m.set(i, i);`,
  // Filling a 2^27-slot array allocates its backing store at once: heap OOM (SIGABRT).
  fill: `return new Array(2 ** 27).fill(0).length;`,
};

describe("crashing the sandbox process (process isolation)", () => {
  it("survives a one-line crasher: every fault names it, the others keep their state, it is quarantined after 3 crashes in a row", async () => {
    const r = await rig(
      {
        crasher: counterMod("crasher", { crash: CRASHERS.split }),
        steady: handlerMod("steady", { tick: `return ++s.n;` }),
      },
      { isolation: "process" },
    );
    const { host } = r;
    const pid = host.sandboxPid;
    expect(await value(host, "crasher", "inc")).toBe(1);
    expect(await value(host, "steady", "tick")).toBe(1);

    const crashed = await answer(host, "crasher", "crash");
    expect(crashed.ok).toBe(false);
    if (crashed.error?.code === "E_MEMORY_LIMIT") {
      // Node 24 / isolated-vm 6 with the warm spare: V8 may throw on the split's size instead of
      // aborting (seen in CI, deterministic there). Caught is as good: charged to the crasher, the
      // bystander and the crasher's state untouched.
      expect(r.faults.every((f) => f.mod === "crasher")).toBe(true);
      expect(await value(host, "steady", "tick")).toBe(2);
      expect(await host.state("crasher")).toEqual({ n: 1 });
      return;
    }
    expect(crashed.error?.code).toBe("E_QUARANTINED");

    // Every fault names the crasher; the third crash in a row quarantines it.
    expect(r.faults.length).toBe(3);
    expect(r.faults.every((f) => f.mod === "crasher" && f.code === "E_SANDBOX_CRASHED")).toBe(true);
    expect(r.faults.map((f) => f.quarantined)).toEqual([false, false, true]);
    const crashLogs = r.logs.filter((l) => /sandbox process died/.test(l.message));
    expect(crashLogs.map((l) => [l.mod, l.level])).toEqual([
      ["crasher", "error"],
      ["crasher", "error"],
      ["crasher", "error"],
    ]);
    expect(host.sandboxPid).toBeDefined();
    expect(host.sandboxPid).not.toBe(pid);

    expect(info(host, "crasher").status).toBe("quarantined");
    expect(await errorCode(host, "crasher", "inc")).toBe("E_QUARANTINED");
    expect(info(host, "steady").status).toBe("running");
    expect(await value(host, "steady", "tick")).toBe(2);
    expect(await host.state("steady")).toEqual({ n: 2 });
    expect(await host.state("crasher")).toEqual({ n: 1 }); // its state from before the crash is intact
  });

  // The growth bombs usually take V8 down, but now and then (GC timing) the memory limit catches
  // them first: either way the mod must be charged and the bystander must not notice.
  it.each([
    ["fill", false],
    ["mapGrowth", true],
  ] as const)("survives the one-line crasher %s and charges it to the right mod", async (name, mayBeCaught) => {
    const r = await rig(
      {
        crasher: counterMod("crasher", { crash: CRASHERS[name] }, { manifest: { limits: { callTimeoutMs: 1000 } } }),
        steady: handlerMod("steady", { tick: `return ++s.n;` }),
      },
      { isolation: "process", quarantineAfter: 1 },
    );
    const { host } = r;
    const pid = host.sandboxPid;
    expect(await value(host, "steady", "tick")).toBe(1);
    const code = await errorCode(host, "crasher", "crash");
    expect(r.faults).toHaveLength(1);
    expect(r.faults[0]).toMatchObject({ mod: "crasher", quarantined: true });
    if (code === "E_MEMORY_LIMIT" && mayBeCaught) {
      expect(r.faults[0]?.code).toBe("E_MEMORY_LIMIT");
    } else {
      expect(code).toBe("E_QUARANTINED");
      expect(r.faults[0]?.code).toBe("E_SANDBOX_CRASHED");
      // V8 itself gave up (Node 20 / isolated-vm 5), or the bomb wedged the isolate's thread and the
      // watchdog killed the process (seen on Node 24 / isolated-vm 6): either way it died and came back.
      expect(r.logs.map((l) => l.message).join("\n")).toMatch(/sandbox process died .*SIG(ABRT|TRAP|SEGV|KILL)/);
      expect(host.sandboxPid).not.toBe(pid);
    }
    expect(info(host, "crasher").status).toBe("quarantined");
    expect(await value(host, "steady", "tick")).toBe(2);
  });

  it("answers every event of a batch around a crasher exactly once, in order, and keeps the bystander's events", async () => {
    const r = await rig(
      {
        crasher: counterMod("crasher", { crash: CRASHERS.split }),
        steady: handlerMod("steady", { tick: `return ++s.n;` }),
      },
      { isolation: "process" },
    );
    const { host } = r;
    // One turn of the event loop: the crasher's events travel in one batch, the bystander's ticks
    // in the same frame behind them.
    const crasherEvents = ["inc", "inc", "crash", "inc", "inc"].map((e) => host.emit(e));
    const ticks = Array.from({ length: 20 }, () => host.emit("tick"));
    const crasherResults = (await Promise.all(crasherEvents)).map((rs) => rs.filter((x) => x.mod === "crasher"));
    const tickResults = (await Promise.all(ticks)).map((rs) => rs.filter((x) => x.mod === "steady"));

    expect(crasherResults.every((rs) => rs.length === 1)).toBe(true);
    const outcome = crasherResults.map(([x]) => (x!.ok ? x!.value : x!.error?.code));
    // The two events before the crash ran once each; the crash quarantined the mod, whose later
    // events are refused. Where V8 throws instead of aborting (Node 24 / isolated-vm 6, see above)
    // the crash is a memory-limit hit and the later events run, each once.
    const caught = outcome[2] === "E_MEMORY_LIMIT";
    expect(outcome).toEqual(caught ? [1, 2, "E_MEMORY_LIMIT", 3, 4] : [1, 2, "E_QUARANTINED", "E_QUARANTINED", "E_QUARANTINED"]);
    expect(tickResults.map((rs) => rs.map((x) => x.value))).toEqual(Array.from({ length: 20 }, (_, i) => [i + 1]));
    expect(await host.state("steady")).toEqual({ n: 20 });
    expect(await host.state("crasher")).toEqual({ n: caught ? 4 : 2 });
    expect(r.faults.every((f) => f.mod === "crasher")).toBe(true);
    expect(r.faults.at(-1)?.quarantined).toBe(!caught);
  });

  it("kills a sandbox wedged in work that ignores the time limit (Unicode normalization of a huge rope)", async () => {
    const r = await rig(
      {
        wedge: counterMod("wedge", { normalize: `return "a\\u0301".repeat(2 ** 26).normalize("NFC").length;` }, { manifest: { limits: { callTimeoutMs: 100 } } }),
        steady: handlerMod("steady", { tick: `return ++s.n;` }),
      },
      { isolation: "process", quarantineAfter: 1 },
    );
    const { host } = r;
    expect(await value(host, "steady", "tick")).toBe(1);
    expect(await value(host, "wedge", "inc")).toBe(1);
    const pid = host.sandboxPid;
    const code = await errorCode(host, "wedge", "normalize");
    // The normalization usually wedges where the time limit is not seen, and the watchdog kills
    // the process. Once (a CI run on a machine loaded by a profiler besides) the isolate's memory
    // limit stopped the 256 MB string first: contained too, but not the path this test is for.
    expect(["E_QUARANTINED", "E_MEMORY_LIMIT"]).toContain(code);
    if (code === "E_QUARANTINED") {
      expect(r.faults).toEqual([expect.objectContaining({ mod: "wedge", code: "E_SANDBOX_CRASHED", quarantined: true })]);
      expect(r.logs.some((l) => /sandbox process died .*SIGKILL/.test(l.message))).toBe(true); // the watchdog's kill
      expect(host.sandboxPid).not.toBe(pid);
    } else {
      expect(r.faults.every((f) => f.mod === "wedge")).toBe(true);
    }
    expect(await value(host, "steady", "tick")).toBe(2);
  });

  // The same 40 events as 40 emits, and as one tick of host.emitMany().
  it.each(["emit", "emitMany"] as const)("answers every event exactly once and runs each capability once when the game SIGKILLs the sandbox mid-batch (sent by %s)", async (send) => {
    let host: Rig["host"] | undefined;
    const seen: number[] = [];
    let kills = 0;
    const r = await rig(
      {
        alpha: handlerMod("alpha", { hit: `s.n += 1; ctx.host.record(p.i); return s.n;` }, { manifest: { permissions: ["record"] } }),
        beta: handlerMod("beta", { hit: `s.n += 1; s.sum += p.i; return s.n;` }, { init: "{ n: 0, sum: 0 }" }),
      },
      {
        isolation: "process",
        capabilities: {
          record: (i: number) => {
            seen.push(i);
            if (i === 15 && kills === 0) {
              kills++;
              process.kill(host!.sandboxPid!, "SIGKILL"); // the game kills the sandbox from inside a capability call
            }
            return i;
          },
        },
        grants: { alpha: ["record"] },
      },
    );
    host = r.host;
    const pid = host.sandboxPid;
    const N = 40;
    const results =
      send === "emit"
        ? await Promise.all(Array.from({ length: N }, (_, k) => host!.emit("hit", { i: k + 1 })))
        : await host.emitMany(Array.from({ length: N }, (_, k) => ({ event: "hit", payload: { i: k + 1 } })));

    expect(kills).toBe(1);
    expect(host.sandboxPid).not.toBe(pid);
    for (const [k, rs] of results.entries()) {
      expect(rs.map((x) => [x.mod, x.ok, x.value]).sort()).toEqual([
        ["alpha", true, k + 1],
        ["beta", true, k + 1],
      ]);
    }
    // The game saw each event's capability call exactly once: answers given before the crash were replayed from the journal.
    expect(seen).toEqual(Array.from({ length: N }, (_, k) => k + 1));
    expect(await host.state("alpha")).toEqual({ n: N });
    expect(await host.state("beta")).toEqual({ n: N, sum: (N * (N + 1)) / 2 });
    // The crash is charged to the mod that was running, and it stays in service.
    expect(r.faults.map((f) => [f.mod, f.code, f.quarantined])).toEqual([["alpha", "E_SANDBOX_CRASHED", false]]);
    expect(host.mods().map((m) => m.status)).toEqual(["running", "running"]);
  });

  it("answers every event exactly once when the sandbox is SIGKILLed from outside during slow handlers", async () => {
    const slow = `let x = 0; for (let i = 0; i < 1000000; i++) x += i; s.n += 1; s.x = x; return s.n;`;
    const r = await rig(
      {
        // A generous time limit: only the kill may interrupt these handlers, not a loaded machine.
        alpha: handlerMod("alpha", { work: slow }, { manifest: { limits: { callTimeoutMs: 1000 } } }),
        beta: handlerMod("beta", { work: slow }, { manifest: { limits: { callTimeoutMs: 1000 } } }),
      },
      { isolation: "process" },
    );
    const { host } = r;
    const pid = host.sandboxPid!;
    const N = 150;
    const pending = Array.from({ length: N }, () => host.emit("work"));
    const killer = setTimeout(() => process.kill(pid, "SIGKILL"), 40);
    const results = await Promise.all(pending);
    clearTimeout(killer);

    expect(r.logs.some((l) => /sandbox process died .*SIGKILL/.test(l.message))).toBe(true);
    // It landed mid-flight (with ~0.5 s of work queued it cannot miss): the mod whose request was
    // running is charged with the crash, once, and not quarantined for it.
    expect(r.faults).toHaveLength(1);
    expect(r.faults[0]).toMatchObject({ code: "E_SANDBOX_CRASHED", quarantined: false });
    expect(["alpha", "beta"]).toContain(r.faults[0]?.mod);
    expect(host.sandboxPid).not.toBe(pid);
    for (const mod of ["alpha", "beta"]) {
      const values = results.map((rs) => {
        const mine = rs.filter((x) => x.mod === mod);
        expect(mine).toHaveLength(1);
        return mine[0]!.ok ? mine[0]!.value : mine[0]!.error?.code;
      });
      expect(values).toEqual(Array.from({ length: N }, (_, k) => k + 1));
      expect(await host.state(mod)).toMatchObject({ n: N });
    }
    expect(host.mods().every((m) => m.status === "running")).toBe(true);
  });

  // BUG (engine, ModSlot.start): a mod that crashes the sandbox while the host loads its mods
  // takes down every mod that was starting in the same process. Their starts come back "lost",
  // but start() does not retry a lost start (only #restore() does), so the innocent mods are
  // listed "faulted" with E_SANDBOX_CRASHED for good and never serve.
  it("keeps the other mods when one crashes the sandbox while the host is loading them", async () => {
    const r = await rig(
      {
        "a-crasher": counterMod("a-crasher", {}, { top: `const bits = "a".repeat(2 ** 27).split("");` }),
        "b-steady": handlerMod("b-steady", { tick: `return ++s.n;` }),
        "c-steady": handlerMod("c-steady", { tock: `return ++s.n;` }),
      },
      { isolation: "process" },
    );
    // Node 20's V8 aborts the process; Node 24's catches the same bomb as a memory-limit hit.
    expect(info(r.host, "a-crasher").status).toBe("faulted");
    expect(["E_SANDBOX_CRASHED", "E_MEMORY_LIMIT"]).toContain(info(r.host, "a-crasher").error?.code);
    expect(info(r.host, "b-steady").status).toBe("running");
    expect(info(r.host, "c-steady").status).toBe("running");
    expect(await value(r.host, "b-steady", "tick")).toBe(1);
    expect(await value(r.host, "c-steady", "tock")).toBe(1);
  });
});

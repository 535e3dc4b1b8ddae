/**
 * A starved machine: the sandbox process pinned to one core together with CPU burners, so that it
 * gets a small share of that core. Time limits follow the CPU the sandbox actually got (its main
 * thread's run-queue wait is not charged), with wall time only as a backstop: a healthy mod is
 * never failed with E_TIMEOUT and the sandbox is never restarted, while a real infinite loop is
 * still stopped. With wall-time limits (before) the same run timed out healthy events.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { answer, errorCode, handlerMod, startRig, value, type Rig } from "./harness.js";

const rigs: Rig[] = [];
const burners: ChildProcess[] = [];
afterEach(async () => {
  for (const b of burners.splice(0)) if (b.pid !== undefined && b.exitCode === null) process.kill(b.pid, "SIGKILL");
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});

function hasTaskset(): boolean {
  if (process.platform !== "linux") return false;
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of `pid` to core 0. */
function pinToCore0(pid: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", "0", String(pid)], { stdio: "ignore" });
}

/** Starts `count` busy loops pinned to core 0 (killed after the test). */
function burnCore0(count: number): void {
  for (let i = 0; i < count; i++) {
    const b = spawn("taskset", ["-c", "0", "sh", "-c", "while :; do :; done"], { stdio: "ignore" });
    burners.push(b);
  }
}

// About 1.5 ms of CPU per event (measured on this 2-core machine) against a 20 ms limit: healthy,
// but at a seventh of a core its wall time is well past the limit.
const WORK = `let x = 0; for (let i = 0; i < 1e6; i++) x += i % 7; s.n++; return s.n + (x < 0 ? 1 : 0);`;
const LIMITS = { manifest: { name: "", limits: { callTimeoutMs: 20 } } };

describe.skipIf(!hasTaskset())("a starved machine (process isolation)", () => {
  it("answers every event of a healthy mod with no E_TIMEOUT and no restart, and still stops an infinite loop", async () => {
    const r = await startRig(
      {
        busy: handlerMod("busy", { work: WORK }, { manifest: { ...LIMITS.manifest, name: "busy" } }),
        spin: handlerMod("spin", { spin: "for (;;) {}", ok: "return ++s.n;" }, { manifest: { ...LIMITS.manifest, name: "spin" } }),
      },
      { isolation: "process" },
    );
    rigs.push(r);
    const { host } = r;
    expect(await value(host, "busy", "work")).toBe(1); // warm, before the starvation starts
    const pid = host.sandboxPid as number;
    pinToCore0(pid);
    burnCore0(6);

    // One at a time: each event is its own call.
    for (let i = 2; i <= 21; i++) expect(await value(host, "busy", "work")).toBe(i);
    // All at once: one batch, many slices, one watchdog budget.
    const batch = await Promise.all(Array.from({ length: 60 }, () => answer(host, "busy", "work")));
    expect(batch.map((b) => (b.ok ? "ok" : b.error?.code))).toEqual(Array.from({ length: 60 }, () => "ok"));
    expect(batch.map((b) => b.value).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 60 }, (_, k) => 22 + k));

    // A real infinite loop is still stopped (within its limit times the wall backstop at worst).
    expect(await errorCode(host, "spin", "spin")).toBe("E_TIMEOUT");
    expect(await value(host, "spin", "ok")).toBe(1); // its state was restored, it serves

    expect(host.sandboxPid).toBe(pid); // no restart
    expect(r.faults.map((f) => `${f.mod}:${f.code}`)).toEqual(["spin:E_TIMEOUT"]);
    expect(r.logs.filter((l) => /sandbox process died/.test(l.message))).toEqual([]);
  }, 300_000);
});

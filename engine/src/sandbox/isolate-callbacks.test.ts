import { describe, expect, it } from "vitest";
import { IsolateCallbacks } from "./isolate-callbacks.js";
import { LogBudget } from "./log-budget.js";
import type { LoadSpec, SandboxBridge, WireEvent } from "../model/wire.js";

const SPEC = { name: "m" } as LoadSpec;

/** Callbacks whose lines land in `sent`, attached as a loaded instance's are. */
function callbacks(sent: string[]): IsolateCallbacks {
  const bridge: SandboxBridge = {
    log: (_mod, _level, message) => void sent.push(message),
    capability: () => ({ reply: `{"ok":true}`, late: false }),
  };
  const c = new IsolateCallbacks(bridge, new LogBudget(), () => SPEC);
  c.attach();
  return c;
}
const ev = (seq: number): WireEvent => ({ seq, name: "e", payload: "{}", now: 0 });

describe("isolate callbacks: the lines of an event cut while starved", () => {
  it("counts the lines each event sent, and a rerun does not send the cut attempt's lines again", () => {
    const sent: string[] = [];
    const first = callbacks(sent);
    first.beginDispatch([ev(1), ev(2)], false);
    first.onLog("info", "one a", 1);
    first.onLog("info", "two a", 2);
    first.onLog("info", "two b", 2);
    // Event 2 is cut while starved here: its two lines are out.
    expect(first.linesSentBy(2)).toBe(2);
    expect(first.linesSentBy(1)).toBe(0); // not the last event to log
    first.endDispatch();

    // The restored instance reruns event 2 on the same state: its first two lines repeat.
    const rerun = callbacks(sent);
    rerun.beginDispatch([ev(2), ev(3)], false);
    rerun.skipRepeatedLines(new Map([[2, 2]]));
    rerun.onLog("info", "two a", 2);
    rerun.onLog("info", "two b", 2);
    rerun.onLog("info", "two c", 2); // got further this time: a new line
    rerun.onLog("info", "three a", 3);
    rerun.endDispatch();
    expect(sent).toEqual(["one a", "two a", "two b", "two c", "three a"]);

    // Only that rerun skips: the next dispatch sends every line.
    rerun.beginDispatch([ev(2)], false);
    rerun.onLog("info", "two a", 2);
    rerun.endDispatch();
    expect(sent.at(-1)).toBe("two a");
    expect(sent).toHaveLength(6);
  });

  it("a line from outside an event (seq -1) or without a seq is never skipped", () => {
    const sent: string[] = [];
    const c = callbacks(sent);
    c.beginDispatch([ev(4)], false);
    c.skipRepeatedLines(new Map([[4, 1]]));
    c.onLog("warn", "late", -1);
    c.onLog("warn", "no seq");
    c.onLog("info", "four a", 4);
    c.onLog("info", "four b", 4);
    c.endDispatch();
    expect(sent).toEqual(["late", "no seq", "four b"]);
  });
});

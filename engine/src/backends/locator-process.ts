/**
 * Runs a timeout's location (sandbox/timeout-locator.ts) in a throwaway child process
 * (backends/locator-main.ts), for both backends: the profiled replay uses isolated-vm's
 * inspector, which was seen to crash its process (SIGSEGV) when the profiled call was cut. In its
 * own process that costs the location only (the error says why), never the game or the shared
 * sandbox. Paid only after a timeout: one Node start and isolated-vm load, plus one time limit.
 */
import { spawn } from "node:child_process";
import { PROFILED_MEMORY_FACTOR, type HotSpot, type LocateRequest } from "../sandbox/sandbox-backend.js";
import { packagePath } from "../util/package-path.js";
import { trackResource } from "../util/resource-registry.js";
import { RequestBudgets } from "./request-budgets.js";
import { childEnv } from "../util/child-env.js";
import { LOCATOR_STALL, StallWatch } from "./stall-watch.js";

/** Output over this is not a hot spot: the child is killed and the location given up. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/** Time for the child to start Node and load isolated-vm, on top of the located run's own budget. */
const PROCESS_START_MS = 10_000;

const budgets = new RequestBudgets();

/**
 * Locates `request` in a child process, killed when it overruns what a start plus the located
 * call may take. Null when the replay found nothing; rejects (with why) when the child died,
 * overran or answered nonsense.
 */
export async function locateInChild(request: LocateRequest): Promise<HotSpot | null> {
  // A crash is the inspector's, not the mod's (the same run usually completes): tried again, twice at most.
  for (let attempt = 1; ; attempt++) {
    try {
      return await locateOnce(request);
    } catch (err) {
      if (!(err instanceof LocatorCrash) || attempt >= CRASH_ATTEMPTS) throw err;
    }
  }
}

/** How often a locating process that crashed is started again. */
const CRASH_ATTEMPTS = 3;

/** The locating process was killed by a signal it did not ask for (a crash, not its time limit). */
class LocatorCrash extends Error {}

function locateOnce(request: LocateRequest): Promise<HotSpot | null> {
  const budgetMs = budgets.locate(request) + PROCESS_START_MS;
  const env = childEnv();
  const child = spawn(process.execPath, ["--no-node-snapshot", packagePath("dist/backends/locator-main.js")], { stdio: ["pipe", "pipe", "pipe"], env });
  const untrack = trackResource("locator-process");
  return new Promise<HotSpot | null>((resolve, reject) => {
    let out = "";
    let err = "";
    let overran = false;
    let stalled = false;
    const timer = setTimeout(() => {
      overran = true;
      child.kill("SIGKILL");
    }, budgetMs);
    // A deadlocked child would otherwise hold the located event's answer for the whole budget.
    // Watched once its request is written (until then it waits for it, which is no stall).
    let stall: StallWatch | undefined;
    const watch = (): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      stall = new StallWatch(child.pid, () => {
        stalled = true;
        child.kill("SIGKILL");
      });
    };
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      out += text;
      if (out.length > MAX_OUTPUT_BYTES) child.kill("SIGKILL");
    });
    child.stderr.on("data", (text: string) => {
      err = (err + text).slice(-2000);
    });
    // A child that died before reading its request: "close" reports how it ended.
    child.stdin.on("error", (error) => {
      err = `${err}${error.message}\n`.slice(-2000);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      stall?.close();
      untrack();
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      stall?.close();
      untrack();
      if (code !== 0) {
        // isolated-vm's inspector often crashes the process as it exits (SIGSEGV), or deadlocks it,
        // after the answer was written: a whole answer stands.
        const answered = signal !== null && !overran ? completeAnswer(out) : undefined;
        if (answered !== undefined) {
          resolve(answered);
          return;
        }
        if (stalled) {
          // Not a crash to try again: the same run would reach the same limit.
          reject(new Error(STALLED_MESSAGE));
          return;
        }
        const how = overran ? `was stopped after ${budgetMs} ms` : `ended with ${signal ?? `exit code ${code}`}`;
        const message = `the locating process ${how}${err.trim() ? `: ${err.trim().slice(-300)}` : ""}`;
        reject(signal !== null && !overran && out.length <= MAX_OUTPUT_BYTES ? new LocatorCrash(message) : new Error(message));
        return;
      }
      try {
        resolve(hotSpotOf(JSON.parse(out) as unknown));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.stdin.end(JSON.stringify(request), watch);
  });
}

/** Why a locating process that stopped running was stopped, as the timeout's message says it. */
export const STALLED_MESSAGE =
  `the profiled run stopped making progress (its process's main thread was blocked for most of ${LOCATOR_STALL.windowMs / 1000} s) and was stopped: ` +
  `isolated-vm's inspector deadlocks when a profiled run reaches its memory limit (${PROFILED_MEMORY_FACTOR}x the mod's)`;

/** The hot spot a locating process wrote in full, or undefined if what it wrote is not one. */
function completeAnswer(out: string): HotSpot | null | undefined {
  try {
    return hotSpotOf(JSON.parse(out) as unknown);
  } catch {
    return undefined; // cut short by the crash, or never written: the crash is reported instead
  }
}

function hotSpotOf(value: unknown): HotSpot | null {
  if (value === null) return null;
  const spot = value as { file?: unknown; line?: unknown };
  if (typeof spot.file === "string" && typeof spot.line === "number" && Number.isInteger(spot.line) && spot.line > 0) return { file: spot.file, line: spot.line };
  throw new Error("the locating process answered something that is not a hot spot");
}

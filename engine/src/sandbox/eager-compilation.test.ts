import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DIST = (path: string): string => JSON.stringify(new URL(`../../dist/sandbox/${path}`, import.meta.url).href);

/** Prelude functions that no call of a pool fill runs: compiled at fill time only if compiled eagerly. */
const PRELUDE_INNER = ["checkMembers", "runEvent", "checkPlainData"];

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "modhost-eager-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs `body` (ES module code with `IsolateHandle`, `isolatePool`, `preludeSource` and
 * `PRELUDE_FUNCTIONS` in scope) in a child Node with V8's function events logged, and returns, per
 * function name, the kinds of events V8 logged for it (`preparse-*` for a function left to compile
 * at its first call, `full-parse` for one compiled with its script). Built engine: `npm test`
 * builds first.
 */
function functionEvents(name: string, body: string, execArgv: readonly string[] = []): Map<string, string[]> {
  // One log per isolate (V8's default), in a folder of this run's own: isolates sharing one log
  // file truncate each other's lines. V8 names a log by its isolate's address, which an isolate
  // made after another was disposed may reuse: the isolates of one body must overlap in lifetime.
  const logs = join(dir, name);
  mkdirSync(logs);
  const script = `
    import { IsolateHandle } from ${DIST("ivm.js")};
    import { isolatePool } from ${DIST("isolate-pool.js")};
    import { PRELUDE_FUNCTIONS, preludeSource } from ${DIST("prelude-source.js")};
    ${body}
    console.log("done");
  `;
  const child = spawnSync(process.execPath, ["--no-node-snapshot", ...execArgv, "--log-function-events", "--logfile=functions.log", "--input-type=module", "-e", script], { cwd: logs, encoding: "utf8", timeout: 60_000 });
  expect(child.error).toBeUndefined();
  expect(child.stderr).not.toMatch(/Error/);
  expect(child.status).toBe(0);
  expect(child.stdout).toContain("done");
  const events = new Map<string, string[]>();
  for (const file of readdirSync(logs)) {
    const lines = readFileSync(join(logs, file), "latin1").split("\n");
    // Only the scripts these tests compile (script-details,<id>,<name>,...): Node's own isolate
    // logs its scripts too, and may one day have a function of the same name.
    const scripts = new Set(lines.map((line) => line.split(",")).filter((f) => f[0] === "script-details" && SCRIPTS.includes(f[2] as string)).map((f) => f[1]));
    for (const line of lines) {
      // function,<event>,<script>,<start>,<end>,<ms>,<timestamp>,<name>
      const fields = line.split(",");
      if (fields[0] !== "function" || fields.length < 8 || !scripts.has(fields[2])) continue;
      const fn = fields[7] as string;
      events.set(fn, [...(events.get(fn) ?? []), fields[1] as string]);
    }
  }
  return events;
}

/** The scripts whose functions the tests look at. */
const SCRIPTS = ["modhost:prelude", "after-fill.js"];

/** Fills the pool with one isolate, then compiles a script with an inner function in another isolate. */
const FILL_THEN_COMPILE = `
      if (isolatePool.fill(32, 1) !== 1) throw new Error("the pool made no isolate");
      // Made after the fill, the way a mod's own code is compiled: lazily again.
      const later = IsolateHandle.create(32);
      const api = later.runScriptForFunctions("function afterFillInner(a) { return a + 1; } ({ run() { return String(afterFillInner(1)); } })", "after-fill.js", ["run"], 1000);
      if (api.kind !== "ok") throw new Error("script: " + JSON.stringify(api));
      later.dispose();
      isolatePool.close();
      `;

const preparsed = (kinds: readonly string[] | undefined): boolean => (kinds ?? []).some((k) => k.startsWith("preparse"));

describe("the isolate pool compiles the prelude whole", () => {
  it("compiles the prelude's inner functions when it fills, and compiles lazily again after", () => {
    const events = functionEvents("pool", FILL_THEN_COMPILE);
    for (const fn of PRELUDE_INNER) {
      expect(events.get(fn), fn).toContain("full-parse");
      expect(preparsed(events.get(fn)), fn).toBe(false);
    }
    expect(preparsed(events.get("afterFillInner"))).toBe(true);
  });

  it("leaves a prelude compiled outside the pool to V8's lazy compilation (what the check above tells apart)", () => {
    const events = functionEvents(
      "plain",
      `
      const isolate = IsolateHandle.create(32);
      const api = isolate.runScriptForFunctions(preludeSource(), "modhost:prelude", PRELUDE_FUNCTIONS, 1000);
      if (api.kind !== "ok") throw new Error("prelude: " + JSON.stringify(api));
      isolate.dispose();
      `,
    );
    for (const fn of PRELUDE_INNER) expect(preparsed(events.get(fn)), fn).toBe(true);
  });

  it("leaves the flag alone in a process started with lazy compilation off", () => {
    const events = functionEvents("no-lazy", FILL_THEN_COMPILE, ["--no-lazy"]);
    expect(events.get("afterFillInner")).toContain("full-parse");
    expect(preparsed(events.get("afterFillInner"))).toBe(false);
  });
});

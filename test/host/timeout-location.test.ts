import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModHost, type FaultEvent } from "modhost";
import { ISOLATIONS, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

// Small limits keep each timeout (and the profiled run that locates it) cheap; nothing here
// asserts a time. Line numbers are the .ts lines of the loops below (1-based).
const LIMITS = { limits: { callTimeoutMs: 50 } };
// A module's top-level code gets ten limits.
const LOAD_LIMITS = { limits: { callTimeoutMs: 20 } };

const SPIN = `import { defineMod } from "@modhost/sdk";
type S = { n: number };
export default defineMod<S>({
  init: () => ({ n: 0 }),
  on: {
    spin(s) {
      s.n += 1;
      while (s.n > 0) {
        s.n = (s.n % 7) + 1;
      }
      return s.n;
    },
  },
});
`;

const HELPER_MAIN = `import { defineMod } from "@modhost/sdk";
import { settle } from "./lib/physics.js";
type S = { n: number };
export default defineMod<S>({
  init: () => ({ n: 0 }),
  on: {
    step(s) {
      return settle(s.n);
    },
  },
});
`;
const PHYSICS = `export function settle(n: number): number {
  let x = n;
  for (;;) {
    x = (x * 31 + 7) % 1000;
  }
}
`;

// Runs fine three times; from the fourth call on the state makes it loop.
const STATEFUL = `import { defineMod } from "@modhost/sdk";
type S = { count: number };
export default defineMod<S>({
  init: () => ({ count: 0 }),
  on: {
    tick(s) {
      s.count += 1;
      let spins = 0;
      while (s.count > 3) {
        spins += 1;
      }
      return s.count + spins;
    },
  },
});
`;

const TOP_LEVEL = `import { defineMod } from "@modhost/sdk";
let ready = false;
while (!ready) {
  ready = Math.random() > 2;
}
export default defineMod<{}>({ on: { never: () => 1 } });
`;

interface LocatedError {
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
}

/**
 * The loop's line in main.ts (one of `lines` if given), or the message saying why there is none:
 * on a loaded machine the run to find it may get no sample of the loop (seen in CI).
 */
function expectLineOrWhy(error: LocatedError | undefined, lines?: readonly number[]): void {
  if (error?.file === undefined) {
    expect(error?.message).toMatch(/where it looped is unknown: .+\)$/);
    return;
  }
  expect(error.file).toBe("main.ts");
  if (lines !== undefined) expect(lines).toContain(error.line);
}

describe.each(ISOLATIONS)("E_TIMEOUT location (%s isolation)", (isolation) => {
  let mods: ModsDir;
  let host: ModHost;
  const faults: FaultEvent[] = [];

  beforeAll(async () => {
    mods = await makeModsDir({
      spinner: simpleMod("spinner", SPIN, LIMITS),
      helper: { ...simpleMod("helper", HELPER_MAIN, LIMITS), "lib/physics.ts": PHYSICS },
      stateful: simpleMod("stateful", STATEFUL, LIMITS),
      toplevel: simpleMod("toplevel", TOP_LEVEL, LOAD_LIMITS),
    });
    host = await ModHost.create({ modsDir: mods.dir, isolation });
    host.on("fault", (fault) => faults.push(fault));
  }, 120_000); // four first loads (type-checked) on a loaded machine
  afterAll(async () => {
    await host?.close();
    await mods?.cleanup();
  });

  it("names the line of a loop in the handler", async () => {
    const [r] = await host.emit("spin");
    // The loop's statement or its body: both are the loop.
    expect(r?.error).toMatchObject({ code: "E_TIMEOUT", file: "main.ts" });
    expect([8, 9]).toContain(r?.error?.line);
    expect(r?.error?.stack).toMatch(/^\s+at main\.ts:[89]:\d+$/m);
    expect(faults.find((f) => f.mod === "spinner")).toMatchObject({ code: "E_TIMEOUT", event: "spin", file: "main.ts", line: r?.error?.line });
  });

  it("names the line in another file when the loop is in a helper", async () => {
    const [r] = await host.emit("step");
    expect(r?.error).toMatchObject({ code: "E_TIMEOUT", file: "lib/physics.ts" });
    expect([3, 4]).toContain(r?.error?.line);
  });

  it("locates a timeout that only the state causes (the replay starts from the state before the event)", async () => {
    for (let i = 1; i <= 3; i++) expect(await host.emit("tick")).toMatchObject([{ ok: true, value: i }]);
    const [r] = await host.emit("tick");
    expect(r?.error).toMatchObject({ code: "E_TIMEOUT", file: "main.ts" });
    expect([9, 10]).toContain(r?.error?.line);
    // The timed-out event's changes were undone, and the locating run changed nothing either.
    const state = await host.state("stateful");
    expect(state).toEqual({ count: 3 });
  });

  it("names the line of a top-level loop (the start fault)", () => {
    const info = host.mods().find((m) => m.name === "toplevel");
    expect(info?.status).toBe("faulted");
    expect(info?.error).toMatchObject({ code: "E_TIMEOUT", file: "main.ts" });
    expect([3, 4]).toContain(info?.error?.line);
    expect(faults.find((f) => f.mod === "toplevel")).toMatchObject({ code: "E_TIMEOUT", file: "main.ts" });
  });

  it.runIf(isolation === "process")("lists a folder being loaded as starting until it faults", async () => {
    // The top-level loop keeps the first load going for ten limits (and as long again to locate it),
    // in the sandbox process: the host's event loop stays free to look at the listing meanwhile.
    const dir = join(mods.dir, "late");
    await mkdir(dir);
    await writeFile(join(dir, "mod.json"), JSON.stringify({ name: "late", version: "1.0.0", entry: "main.ts", permissions: [], ...LOAD_LIMITS }));
    await writeFile(join(dir, "main.ts"), TOP_LEVEL);
    let done = false;
    const loading = host.load(dir).finally(() => (done = true));
    const seen = new Set<string>();
    while (!done) {
      const listed = host.mods().find((m) => m.name === "late");
      if (listed !== undefined) seen.add(listed.status);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const report = await loading;
    expect(report).toMatchObject({ ok: false, error: { code: "E_TIMEOUT" } });
    // Located as a rule (the start fault above checks the line); on a loaded machine the locating
    // run may get no sample of the loop (seen in a full run next to benchmarks), and says so.
    expectLineOrWhy((report as { error?: LocatedError }).error);
    expect([...seen]).toEqual(["starting"]);
    expect(host.mods().find((m) => m.name === "late")).toMatchObject({ status: "faulted", error: { code: "E_TIMEOUT" } });
  });
});

// A version 1 that runs, and versions 2 that loop where a swap runs their code: top-level code
// (while staged), and migrate() (the state's shape changed, so the swap migrates).
const COUNTER = `import { defineMod } from "@modhost/sdk";
type S = { n: number };
export default defineMod<S>({ init: () => ({ n: 0 }), on: { inc: (s) => ++s.n } });
`;
const STAGE_LOOP = `import { defineMod } from "@modhost/sdk";
let ready = false;
while (!ready) {
  ready = Math.random() > 2;
}
type S = { n: number };
export default defineMod<S>({ init: () => ({ n: 0 }), on: { inc: (s) => ++s.n } });
`;
const MIGRATE_LOOP = `import { defineMod } from "@modhost/sdk";
type S = { n: number; seen: number };
export default defineMod<S>({
  init: () => ({ n: 0, seen: 0 }),
  migrate(old: unknown) {
    const s = old as S;
    while (s.n >= 0) {
      s.seen = (s.seen + 1) % 5;
    }
    return s;
  },
  on: { inc: (s) => ++s.n },
});
`;

describe.each(ISOLATIONS)("E_TIMEOUT location in a swap (%s isolation)", (isolation) => {
  let mods: ModsDir;
  let host: ModHost;

  beforeAll(async () => {
    mods = await makeModsDir({
      staged: simpleMod("staged", COUNTER, LOAD_LIMITS),
      inplace: simpleMod("inplace", COUNTER, LOAD_LIMITS),
      fresh: simpleMod("fresh", COUNTER, LOAD_LIMITS),
    });
    host = await ModHost.create({ modsDir: mods.dir, isolation, typecheck: "off" });
  });
  afterAll(async () => {
    await host?.close();
    await mods?.cleanup();
  });

  /** Writes version 2 of `name` (with `limits` in its mod.json) and reloads it: refused, and version 1 stays live. */
  async function refusedReload(name: string, main: string, limits: { callTimeoutMs: number; memoryMb?: number } = LOAD_LIMITS.limits) {
    expect(await host.emit("inc")).toContainEqual(expect.objectContaining({ mod: name, ok: true }));
    const manifest = { name, version: "2.0.0", entry: "main.ts", permissions: [], limits };
    await writeFile(join(mods.dir, name, "mod.json"), JSON.stringify(manifest));
    await writeFile(join(mods.dir, name, "main.ts"), main);
    let report = await host.reload(name);
    // A new memory limit waits for the operator; approving it runs the swap.
    if (report.error?.code === "E_APPROVAL_REQUIRED") report = await host.approve(name);
    expect(report.ok).toBe(false);
    expect(host.mods().find((m) => m.name === name)).toMatchObject({ status: "running", version: "1.0.0" });
    return report.error;
  }

  it("names the line of a top-level loop in a version being staged", async () => {
    const error = await refusedReload("staged", STAGE_LOOP);
    expect(error).toMatchObject({ code: "E_TIMEOUT", file: "main.ts" });
    expect([3, 4]).toContain(error?.line);
  });

  it("names the line of a loop in migrate() run on the live state (the state before it is restored first)", async () => {
    const error = await refusedReload("inplace", MIGRATE_LOOP);
    expect(error).toMatchObject({ code: "E_MIGRATION_FAILED", file: "main.ts" });
    expect([7, 8]).toContain(error?.line);
    expect(error?.message).toMatch(/migration time limit/);
  });

  it("names the line of a loop in migrate() run in a fresh isolate (a new memory limit)", async () => {
    const error = await refusedReload("fresh", MIGRATE_LOOP, { ...LOAD_LIMITS.limits, memoryMb: 48 });
    expect(error?.code).toBe("E_MIGRATION_FAILED");
    expect(error?.message).toMatch(/migration time limit/);
    // The line, or why there is none: once in CI (process isolation, Node 20, loaded machine) the
    // run to find it did not reproduce the loop; the message then says so.
    expectLineOrWhy(error, [7, 8]);
  });
});

import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isModhostError } from "../errors/modhost-error.js";
import { ModsWatcher, type ModFolderChange, type ModsWatcherOptions } from "./mods-watcher.js";

// Real folders, real fs.watch. Bursts are written with synchronous calls in one turn of the event
// loop, so the watcher cannot see a burst half-done however loaded the machine is; waits are
// polls with generous timeouts, and "nothing happens" is checked over a bounded quiet period.

const REPORT_TIMEOUT_MS = 10_000;
const QUIET_MS = 250;

let root: string;
let open: ModsWatcher[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "modhost-watch-"));
});

afterEach(async () => {
  await Promise.all(open.map((watcher) => watcher.close()));
  open = [];
  rmSync(root, { recursive: true, force: true });
});

interface Session {
  readonly watcher: ModsWatcher;
  readonly changes: ModFolderChange[];
  readonly errors: Error[];
}

async function watchRoot(options: ModsWatcherOptions = {}, onChange?: (change: ModFolderChange) => void): Promise<Session> {
  const changes: ModFolderChange[] = [];
  const errors: Error[] = [];
  const watcher = await ModsWatcher.create(
    root,
    options,
    (change) => {
      changes.push(change);
      onChange?.(change);
    },
    (error) => errors.push(error),
  );
  open.push(watcher);
  return { watcher, changes, errors };
}

/** Creates mod folder `name` with a mod.json and `files` (path inside the mod -> content). */
function writeMod(name: string, files: Record<string, string> = { "main.ts": "export {};\n" }): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "mod.json"), JSON.stringify({ name, version: "1.0.0", entry: "main.ts" }));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = REPORT_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Waits for `count` reports, then for a quiet period, and returns everything reported. */
async function settled(session: Session, count: number): Promise<ModFolderChange[]> {
  await waitFor(`${count} report(s), got ${JSON.stringify(session.changes)}`, () => session.changes.length >= count);
  await sleep(QUIET_MS);
  return session.changes;
}

describe("ModsWatcher", () => {
  it("reports a save of main.ts as one 'changed'", async () => {
    const dir = writeMod("alpha");
    const session = await watchRoot();
    writeFileSync(join(dir, "main.ts"), "export const x = 1;\n");
    expect(await settled(session, 1)).toEqual([{ kind: "changed", dir }]);
    expect(session.errors).toEqual([]);
  });

  it("reports a burst of saves across files of one mod once", async () => {
    const dir = writeMod("alpha", { "main.ts": "", "a.ts": "", "b.ts": "", "lib/c.ts": "", "lib/deep/d.ts": "" });
    const session = await watchRoot();
    for (const file of ["main.ts", "a.ts", "b.ts", "lib/c.ts", "lib/deep/d.ts", "mod.json"]) appendFileSync(join(dir, file), "\n");
    expect(await settled(session, 1)).toEqual([{ kind: "changed", dir }]);
  });

  it("reports saves in two mods once each", async () => {
    const alpha = writeMod("alpha");
    const beta = writeMod("beta");
    const session = await watchRoot();
    writeFileSync(join(alpha, "main.ts"), "export const a = 1;\n");
    writeFileSync(join(beta, "main.ts"), "export const b = 1;\n");
    writeFileSync(join(alpha, "main.ts"), "export const a = 2;\n");
    const changes = await settled(session, 2);
    expect(changes).toHaveLength(2);
    expect(changes).toEqual(expect.arrayContaining([{ kind: "changed", dir: alpha }, { kind: "changed", dir: beta }]));
  });

  it("reports an atomic save (write temp, rename over main.ts) as one 'changed'", async () => {
    const dir = writeMod("alpha");
    const session = await watchRoot();
    writeFileSync(join(dir, "main.ts.tmp-123"), "export const x = 2;\n");
    renameSync(join(dir, "main.ts.tmp-123"), join(dir, "main.ts"));
    expect(await settled(session, 1)).toEqual([{ kind: "changed", dir }]);
  });

  it("keeps reporting in-place saves of a file after an atomic save replaced it", async () => {
    // Node 20's recursive fs.watch on Linux loses exactly this: its per-file watch stays on the
    // replaced inode.
    const dir = writeMod("alpha");
    const session = await watchRoot();
    writeFileSync(join(dir, ".main.ts.swp"), "x");
    renameSync(join(dir, ".main.ts.swp"), join(dir, "main.ts"));
    await settled(session, 1);
    writeFileSync(join(dir, "main.ts"), "export const x = 3;\n");
    expect(await settled(session, 2)).toEqual([
      { kind: "changed", dir },
      { kind: "changed", dir },
    ]);
  });

  it("reports a vim-style save (4913 probe, main.ts~ backup, rename) as one 'changed'", async () => {
    const dir = writeMod("alpha");
    const session = await watchRoot();
    writeFileSync(join(dir, "4913"), "");
    unlinkSync(join(dir, "4913"));
    renameSync(join(dir, "main.ts"), join(dir, "main.ts~"));
    writeFileSync(join(dir, "main.ts"), "export const x = 4;\n");
    unlinkSync(join(dir, "main.ts~"));
    expect(await settled(session, 1)).toEqual([{ kind: "changed", dir }]);
  });

  it("reports nothing for a README.md edit or editor files that never touch a .ts file", async () => {
    const dir = writeMod("alpha", { "main.ts": "", "README.md": "# alpha\n" });
    const session = await watchRoot();
    writeFileSync(join(dir, "README.md"), "# alpha, edited\n");
    writeFileSync(join(dir, "4913"), "");
    writeFileSync(join(dir, "main.ts~"), "");
    writeFileSync(join(dir, ".main.ts.swp"), "");
    writeFileSync(join(dir, ".#main.ts"), "");
    mkdirSync(join(dir, "node_modules", "dep"), { recursive: true });
    writeFileSync(join(dir, "node_modules", "dep", "index.ts"), "");
    writeFileSync(join(root, "notes.ts"), ""); // a file in modsDir itself is no mod
    await sleep(QUIET_MS);
    expect(session.changes).toEqual([]);
    expect(session.errors).toEqual([]);
  });

  it("reports a new folder with a mod.json as 'added'", async () => {
    const session = await watchRoot();
    const dir = writeMod("gamma", { "main.ts": "", "lib/x.ts": "" });
    expect(await settled(session, 1)).toEqual([{ kind: "added", dir }]);
  });

  it("reports a folder created first and given a mod.json later as 'added' once", async () => {
    const session = await watchRoot();
    const dir = join(root, "gamma");
    mkdirSync(dir);
    await sleep(QUIET_MS); // let the folder's own burst settle: a folder without mod.json is no mod
    expect(session.changes).toEqual([]);
    writeFileSync(join(dir, "mod.json"), "{}");
    writeFileSync(join(dir, "main.ts"), "");
    expect(await settled(session, 1)).toEqual([{ kind: "added", dir }]);
    writeFileSync(join(dir, "main.ts"), "export {};\n");
    expect(await settled(session, 2)).toEqual([
      { kind: "added", dir },
      { kind: "changed", dir },
    ]);
  });

  it("reports a .ts file in a new nested folder of a mod as 'changed'", async () => {
    const dir = writeMod("alpha");
    const session = await watchRoot();
    mkdirSync(join(dir, "lib", "deep"), { recursive: true });
    writeFileSync(join(dir, "lib", "deep", "util.ts"), "export {};\n");
    expect(await settled(session, 1)).toEqual([{ kind: "changed", dir }]);
    // The new folder is watched too.
    writeFileSync(join(dir, "lib", "deep", "util.ts"), "export const y = 1;\n");
    expect(await settled(session, 2)).toEqual([
      { kind: "changed", dir },
      { kind: "changed", dir },
    ]);
  });

  it("reports rm -rf of a mod folder as 'removed'", async () => {
    const dir = writeMod("alpha", { "main.ts": "", "lib/x.ts": "" });
    const other = writeMod("beta");
    const session = await watchRoot();
    rmSync(dir, { recursive: true });
    expect(await settled(session, 1)).toEqual([{ kind: "removed", dir }]);
    // The other mod is still watched.
    writeFileSync(join(other, "main.ts"), "export {};\n");
    expect(await settled(session, 2)).toEqual([
      { kind: "removed", dir },
      { kind: "changed", dir: other },
    ]);
  });

  it("reports a deleted mod.json as 'removed' and its return as 'added'", async () => {
    const dir = writeMod("alpha");
    const session = await watchRoot();
    unlinkSync(join(dir, "mod.json"));
    await settled(session, 1);
    writeFileSync(join(dir, "mod.json"), "{}");
    expect(await settled(session, 2)).toEqual([
      { kind: "removed", dir },
      { kind: "added", dir },
    ]);
  });

  it("reports a renamed mod folder as 'removed' plus 'added', and watches it under its new name", async () => {
    const before = writeMod("alpha");
    const after = join(root, "alpha-2");
    const session = await watchRoot();
    renameSync(before, after);
    const changes = await settled(session, 2);
    expect(changes).toHaveLength(2);
    expect(changes).toEqual(expect.arrayContaining([{ kind: "removed", dir: before }, { kind: "added", dir: after }]));
    writeFileSync(join(after, "main.ts"), "export {};\n");
    await waitFor("a third report", () => session.changes.length >= 3);
    expect(session.changes[2]).toEqual({ kind: "changed", dir: after });
  });

  it("reports an error when modsDir itself disappears, and its mods as removed", async () => {
    const dir = writeMod("alpha");
    const session = await watchRoot();
    rmSync(root, { recursive: true });
    await waitFor("an error", () => session.errors.length >= 1);
    expect(isModhostError(session.errors[0], "E_MODS_DIR")).toBe(true);
    expect(await settled(session, 1)).toEqual([{ kind: "removed", dir }]);
    expect(session.errors).toHaveLength(1);
  });

  it("keeps watching when the change listener throws", async () => {
    const dir = writeMod("alpha");
    const session = await watchRoot({}, () => {
      throw new Error("listener bug");
    });
    writeFileSync(join(dir, "main.ts"), "export const x = 1;\n");
    await settled(session, 1);
    expect(session.errors.map((error) => error.message)).toEqual([expect.stringContaining("listener bug")]);
    writeFileSync(join(dir, "main.ts"), "export const x = 2;\n");
    expect(await settled(session, 2)).toHaveLength(2);
  });

  it("stops every callback once close() resolves, and close() is idempotent", async () => {
    const dir = writeMod("alpha");
    const session = await watchRoot({ debounceMs: 100 });
    writeFileSync(join(dir, "main.ts"), "export const x = 1;\n"); // pending when close() is called
    await Promise.all([session.watcher.close(), session.watcher.close()]);
    writeFileSync(join(dir, "main.ts"), "export const x = 2;\n");
    writeMod("beta");
    rmSync(dir, { recursive: true });
    await sleep(QUIET_MS + 100);
    expect(session.changes).toEqual([]);
    expect(session.errors).toEqual([]);
    await session.watcher.close();
  });

  it("refuses a modsDir that does not exist, or a bad debounceMs", async () => {
    const missing = ModsWatcher.create(join(root, "nope"), {}, () => {});
    await expect(missing).rejects.toSatisfy((error: unknown) => isModhostError(error, "E_MODS_DIR"));
    const bad = ModsWatcher.create(root, { debounceMs: -1 }, () => {});
    await expect(bad).rejects.toSatisfy((error: unknown) => isModhostError(error, "E_OPTIONS_INVALID"));
  });
});

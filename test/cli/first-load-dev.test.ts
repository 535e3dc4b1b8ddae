/**
 * Through real processes: `serve` and `dev` refuse a mod's first load that `modhost check` rejects
 * (E_TYPE at the .ts line); `dev` prints each refusal once, and says when a save fixes a refused one
 * without changing the live code; a save with unchanged files is not pushed again.
 */
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { simpleMod } from "../support/mod-fixture.js";
import { cliScratch } from "../support/cli-scratch.js";

const { start, modsDir } = cliScratch();

const GOOD = `export default {\n  init: () => ({ n: 0 }),\n  on: { inc(s: { n: number }) { return ++s.n; } },\n};\n`;
// The same JavaScript, but `++` on a string: E_TYPE at main.ts:3. Only the types differ from GOOD.
const BAD = GOOD.replace("s: { n: number }", "s: { n: string }");
const GOOD3 = GOOD.replace("++s.n", "s.n += 3");
const count = (text: string, part: string): number => text.split(part).length - 1;
const WAIT = 90_000; // each push compiles and type-checks on a loaded machine

/**
 * Saves `text` as `dir`/main.ts in one step (written beside the folder, then renamed in): the
 * first test counts refusals, and a loaded machine let the watcher read a save half-written (its
 * refusal is right, and the last test covers it, but it is not one of the saves counted).
 */
async function save(dir: string, text: string): Promise<void> {
  const staged = `${dir}.main.ts.tmp`;
  await writeFile(staged, text);
  await rename(staged, join(dir, "main.ts"));
}

describe("first load type-checked, through the CLI", () => {
  it("serve lists a mod that fails the check as faulted with E_TYPE at its .ts line", async () => {
    const mods = await modsDir({ bad: simpleMod("bad", BAD), good: simpleMod("good", GOOD) });
    const server = start(["serve", mods.dir, "--json"]);
    const listening = await server.waitFor(() => server.jsonLines().find((l) => l.type === "listening") as { mods: { name: string; status: string; error?: unknown }[] } | undefined, WAIT);
    expect(listening.mods).toMatchObject([
      { name: "bad", status: "faulted", error: { code: "E_TYPE", file: "main.ts", line: 3 } },
      { name: "good", status: "running" },
    ]);
  }, 120_000);

  it("dev: a refused first load, its fix, a refused save and a fix back to the live code, each printed once", async () => {
    const work = await modsDir({ counter: simpleMod("counter", BAD) });
    const dir = join(work.dir, "counter");
    const dev = start(["dev", dir]);
    await dev.waitFor(() => (dev.stdout.includes(": refused") ? true : undefined), WAIT);
    expect(dev.stdout).toMatch(new RegExp(`${dir}/main\\.ts:3:\\d+ E_TYPE`));

    await save(dir, GOOD);
    await dev.waitFor(() => (dev.stdout.includes("counter 1.0.0: loaded") ? true : undefined), WAIT);

    await save(dir, BAD);
    await dev.waitFor(() => (count(dev.stdout, ": refused") >= 2 ? true : undefined), WAIT);
    await save(dir, GOOD);
    await dev.waitFor(() => (dev.stdout.includes("fixed; the live version already runs this code") ? true : undefined), WAIT);
    expect(dev.stdout).not.toContain("no change to swap");

    // The same bytes again wake the watcher but are not pushed; the next real change is.
    await save(dir, GOOD);
    await save(dir, GOOD3);
    await dev.waitFor(() => (dev.stdout.includes("swapped") ? true : undefined), WAIT);
    expect(count(dev.stdout, ": refused")).toBe(2);
    expect(count(dev.stdout, "fixed;")).toBe(1);
    const stopped = await dev.stop("SIGTERM");
    expect(stopped.code).toBe(0);
  }, 300_000);

  // An editor's save can be read half-written: an empty entry file is refused (E_MOD_DEFINITION),
  // and the whole file that follows loads. (Found in CI: the first load's refused slot stayed as
  // the "live" version with an unknown state shape, and the fix was refused E_MIGRATION_REQUIRED.)
  it("dev: a refused first load, an empty save of it, then the whole file: it loads", async () => {
    const work = await modsDir({ counter: simpleMod("counter", BAD) });
    const dir = join(work.dir, "counter");
    const dev = start(["dev", dir]);
    await dev.waitFor(() => (dev.stdout.includes(": refused") ? true : undefined), WAIT);
    await writeFile(join(dir, "main.ts"), "");
    await dev.waitFor(() => (count(dev.stdout, ": refused") >= 2 ? true : undefined), WAIT);
    expect(dev.stdout).toContain("E_MOD_DEFINITION");
    await writeFile(join(dir, "main.ts"), GOOD);
    await dev.waitFor(() => (dev.stdout.includes("counter 1.0.0: loaded") ? true : undefined), WAIT);
    expect(dev.stdout).not.toContain("E_MIGRATION_REQUIRED");
    expect((await dev.stop("SIGTERM")).code).toBe(0);
  }, 300_000);
});

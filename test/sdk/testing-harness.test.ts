import { access, mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultIsolation, loadMod, ModTestError, type LoadedMod } from "@modhost/sdk/testing";

const COUNTER = `import { defineMod } from "@modhost/sdk";
type State = { hits: Record<string, number> };
export default defineMod<State>({
  init: () => ({ hits: {} }),
  on: {
    hit(state, e: { player: string }, ctx) {
      state.hits[e.player] = (state.hits[e.player] ?? 0) + 1;
      ctx.log("hit", e.player);
      return state.hits[e.player];
    },
    shout(state, e: { text: string }, ctx) {
      ctx.host.broadcast?.(e.text.toUpperCase());
      return ctx.host.roll?.(6) ?? -1;
    },
    fail() {
      throw new Error("boom");
    },
  },
});
`;

let work: string;
let mod: LoadedMod | undefined;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "modhost-harness-test-"));
});
afterEach(async () => {
  await mod?.close();
  mod = undefined;
  await rm(work, { recursive: true, force: true });
});

/** Writes a mod folder under the test's work folder. */
async function modFolder(name: string, main: string, manifest: object = {}): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mod.json"), JSON.stringify({ name: "counter", version: "1.0.0", entry: "main.ts", permissions: [], ...manifest }));
  await writeFile(join(dir, "main.ts"), main);
  return dir;
}

const exists = (path: string) => access(path).then(() => true, () => false);

describe("@modhost/sdk/testing", () => {
  it("loads a mod into the sandbox, sends events and reads its state", async () => {
    mod = await loadMod(await modFolder("counter", COUNTER));
    expect(mod.name).toBe("counter");
    expect(mod.version).toBe("1.0.0");
    expect(await mod.emit("hit", { player: "ann" })).toEqual({ mod: "counter", version: "1.0.0", ok: true, value: 1 });
    expect(await mod.value("hit", { player: "ann" })).toBe(2);
    expect(await mod.state()).toEqual({ hits: { ann: 2 } });
    expect(mod.logs).toEqual([
      { mod: "counter", level: "info", message: "hit ann" },
      { mod: "counter", level: "info", message: "hit ann" },
    ]);
  });

  it("runs on a copy: the mod's own folder is never written", async () => {
    const dir = await modFolder("counter", COUNTER);
    mod = await loadMod(dir);
    expect(mod.dir).not.toBe(dir);
    await mod.patch({ "main.ts": COUNTER.replace("+ 1;", "+ 2;") });
    expect(await readFile(join(dir, "main.ts"), "utf8")).toBe(COUNTER);
    expect(await readFile(join(mod.dir, "main.ts"), "utf8")).toContain("+ 2;");
  });

  it("stubs and records the capabilities mod.json asks for, and calls the ones given", async () => {
    const dir = await modFolder("counter", COUNTER, { permissions: ["broadcast", "roll"] });
    mod = await loadMod(dir, { capabilities: { roll: (sides: number) => sides } });
    expect(await mod.value("shout", { text: "hi" })).toBe(6);
    expect(mod.takeCalls()).toEqual([
      { permission: "broadcast", args: ["HI"] },
      { permission: "roll", args: [6] },
    ]);
    expect(mod.calls).toEqual([]);
  });

  it("grants only what `grants` says: a mod asking for more does not load", async () => {
    const dir = await modFolder("counter", COUNTER, { permissions: ["broadcast"] });
    const error = await loadMod(dir, { grants: [] }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ModTestError);
    expect(error).toMatchObject({ code: "E_MOD_NOT_LOADED", error: { code: "E_PERMISSION_NOT_GRANTED", field: "permissions[0]" } });
  });

  it("reports a failing handler as a result from emit() and as E_HANDLER_FAILED from value()", async () => {
    mod = await loadMod(await modFolder("counter", COUNTER));
    expect(await mod.emit("fail", null)).toMatchObject({ ok: false, error: { code: "E_THREW", message: expect.stringContaining("boom") } });
    await expect(mod.value("fail", null)).rejects.toMatchObject({ code: "E_HANDLER_FAILED", error: { code: "E_THREW" } });
  });

  it("sends a tick with emitMany(): one result per event, in order; refuses a tick with an unhandled event before sending it", async () => {
    mod = await loadMod(await modFolder("counter", COUNTER), { now: 5000 });
    const results = await mod.emitMany([
      { event: "hit", payload: { player: "ann" } },
      { event: "fail", payload: null },
      { event: "hit", payload: { player: "ann" } },
    ]);
    expect(results.map((r) => [r.ok, r.ok ? r.value : r.error?.code])).toEqual([
      [true, 1],
      [false, "E_THREW"],
      [true, 2],
    ]);
    await expect(mod.emitMany([{ event: "hit", payload: { player: "bob" } }, { event: "nothing", payload: {} }])).rejects.toMatchObject({ code: "E_EVENT_NOT_HANDLED" });
    expect(await mod.state()).toEqual({ hits: { ann: 2 } });
  });

  it("rejects an event the mod does not handle with E_EVENT_NOT_HANDLED", async () => {
    mod = await loadMod(await modFolder("counter", COUNTER));
    await expect(mod.emit("nothing", {})).rejects.toMatchObject({ code: "E_EVENT_NOT_HANDLED" });
  });

  it("refuses a folder without mod.json (E_MOD_FOLDER) and a mod that does not compile (E_MOD_NOT_LOADED, with where)", async () => {
    await mkdir(join(work, "empty"));
    await expect(loadMod(join(work, "empty"))).rejects.toMatchObject({ code: "E_MOD_FOLDER" });
    const broken = await modFolder("broken", COUNTER.replace("return state.hits[e.player];", "return state.hits[e.player;"));
    const error = await loadMod(broken).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: "E_MOD_NOT_LOADED", error: { code: "E_SYNTAX", file: "main.ts", line: 9 } });
    expect((error as Error).message).toContain("main.ts:9");
  });

  it("swaps to another folder, reports it, and rolls back", async () => {
    mod = await loadMod(await modFolder("counter", COUNTER));
    await mod.value("hit", { player: "ann" });
    const v2 = await modFolder("counter-v2", COUNTER.replace("+ 1;", "+ 10;"), { version: "1.1.0" });
    const report = await mod.swapTo(v2);
    expect(report).toMatchObject({ ok: true, kind: "swap", from: "1.0.0", to: "1.1.0", changes: [{ kind: "modified", path: "mod.json#version" }, { kind: "modified", path: "on.hit" }] });
    expect(await mod.value("hit", { player: "ann" })).toBe(11);
    expect(await mod.rollback()).toMatchObject({ ok: true, kind: "rollback", from: "1.1.0", to: "1.0.0" });
    expect(await mod.value("hit", { player: "ann" })).toBe(12);
    expect(mod.info()).toMatchObject({ name: "counter", version: "1.0.0", status: "running" });
  });

  it("close() is idempotent, deletes the copy, and the mod cannot be used afterwards", async () => {
    const loaded = await loadMod(await modFolder("counter", COUNTER));
    mod = loaded;
    await Promise.all([loaded.close(), loaded.close()]);
    await loaded.close();
    expect(await exists(loaded.dir)).toBe(false);
    await expect(loaded.emit("hit", { player: "ann" })).rejects.toMatchObject({ code: "E_CLOSED" });
  });

  it("runs the mod in a sandbox process when asked", async () => {
    mod = await loadMod(await modFolder("counter", COUNTER), { isolation: "process" });
    expect(mod.host.sandboxPid).toEqual(expect.any(Number));
    expect(await mod.value("hit", { player: "bob" })).toBe(1);
  });

  it("defaults to inline isolation in a test process started with --no-node-snapshot", () => {
    expect(process.execArgv).toContain("--no-node-snapshot");
    expect(defaultIsolation()).toBe("inline");
  });
});

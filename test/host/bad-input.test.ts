import { afterEach, describe, expect, it } from "vitest";
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { ModHost, ModhostError } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = undefined;
  mods = undefined;
});

async function load(modsByFolder: Record<string, Record<string, string | object>>, extra: object = {}) {
  mods = await makeModsDir(modsByFolder);
  host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", ...extra });
  return host.mods();
}

const good = simpleMod("good", COUNTER_MAIN);

describe("bad input: mods that do not load get a precise error and the others load anyway", () => {
  it("manifest that is not JSON: line and column of the mistake", async () => {
    const list = await load({ good, bad: { "mod.json": '{\n  "name": "bad",\n  "version": "1.0.0",,\n}', "main.ts": COUNTER_MAIN } });
    const bad = list.find((m) => m.name === "bad");
    expect(bad).toMatchObject({ status: "faulted", error: { code: "E_MANIFEST_INVALID", file: "mod.json", line: 3 } });
    expect(list.find((m) => m.name === "good")?.status).toBe("running");
    expect(await host!.emit("hit", { player: "x" })).toHaveLength(1);
  });

  it.each([
    [{ version: "1.0.0" }, "name"],
    [{ name: "Bad Name", version: "1.0.0" }, "name"],
    [{ name: "m", version: "1.0" }, "version"],
    [{ name: "m", version: "1.0.0", entry: "../escape.ts" }, "entry"],
    [{ name: "m", version: "1.0.0", permissions: "all" }, "permissions"],
    [{ name: "m", version: "1.0.0", permissions: ["a", "a"] }, "permissions[1]"],
    [{ name: "m", version: "1.0.0", limits: { memoryMb: 4 } }, "limits.memoryMb"],
    [{ name: "m", version: "1.0.0", limits: { cpu: 1 } }, "limits.cpu"],
    [{ name: "m", version: "1.0.0", colour: "red" }, "colour"],
  ])("manifest %j is refused naming field %s", async (manifest, field) => {
    const list = await load({ good, bad: { "mod.json": manifest, "main.ts": COUNTER_MAIN } });
    const bad = list.find((m) => m.name !== "good");
    expect(bad).toMatchObject({ status: "faulted", error: { code: "E_MANIFEST_INVALID", field, file: "mod.json" } });
    expect(list.find((m) => m.name === "good")?.status).toBe("running");
  });

  it("missing entry file", async () => {
    const list = await load({ good, bad: { "mod.json": { name: "bad", version: "1.0.0", entry: "nope.ts" } } });
    expect(list.find((m) => m.name === "bad")).toMatchObject({ status: "faulted", error: { code: "E_IMPORT_NOT_FOUND", field: "entry" } });
  });

  it("syntax error: file, line and column", async () => {
    const list = await load({ good, bad: simpleMod("bad", "export default {\n  on: {\n    hit( {\n  }\n};\n") });
    expect(list.find((m) => m.name === "bad")).toMatchObject({ status: "faulted", error: { code: "E_SYNTAX", file: "main.ts", line: expect.any(Number) } });
  });

  it("import outside the mod and the SDK is refused with its position", async () => {
    const list = await load({ good, bad: simpleMod("bad", `import fs from "node:fs";\nexport default { on: {} };\n`) });
    expect(list.find((m) => m.name === "bad")).toMatchObject({ status: "faulted", error: { code: "E_IMPORT_REFUSED", file: "main.ts", line: 1 } });
  });

  it("duplicate mod names: the second folder is refused", async () => {
    const list = await load({ a: simpleMod("same", COUNTER_MAIN), b: simpleMod("same", COUNTER_MAIN) });
    expect(list.filter((m) => m.name === "same").map((m) => m.status).sort()).toEqual(["faulted", "running"]);
    expect(list.find((m) => m.status === "faulted")?.error).toMatchObject({ code: "E_MOD_DUPLICATE", field: "name" });
  });

  it("a mod whose top-level code throws does not load", async () => {
    const list = await load({ good, bad: simpleMod("bad", `throw new Error("nope");\nexport default { on: {} };\n`) });
    expect(list.find((m) => m.name === "bad")).toMatchObject({ status: "faulted", error: { code: "E_MOD_LOAD_THREW" } });
  });

  it("an entry without a default defineMod export does not load", async () => {
    const list = await load({ good, bad: simpleMod("bad", `export const x = 1;\n`) });
    expect(list.find((m) => m.name === "bad")).toMatchObject({ status: "faulted", error: { code: "E_MOD_DEFINITION" } });
  });

  it("init() that throws or returns non-plain data does not load", async () => {
    const list = await load({
      good,
      t: simpleMod("t", `export default { init() { throw new Error("bad init"); }, on: {} };`),
      p: simpleMod("p", `export default { init() { return { m: new Map() }; }, on: {} };`),
    });
    expect(list.find((m) => m.name === "t")).toMatchObject({ status: "faulted", error: { message: expect.stringContaining("bad init") } });
    expect(list.find((m) => m.name === "p")).toMatchObject({ status: "faulted", error: { code: "E_NOT_PLAIN_DATA" } });
  });

  it("a manifest above the operator's caps does not load", async () => {
    const list = await load({ good, big: simpleMod("big", COUNTER_MAIN, { limits: { memoryMb: 512 } }) }, { limits: { memoryMb: 64 } });
    expect(list.find((m) => m.name === "big")).toMatchObject({ status: "faulted", error: { code: "E_LIMIT_EXCEEDS_CAP", field: "limits.memoryMb" } });
  });

  it("permissions: not offered, and offered but not granted", async () => {
    const list = await load(
      {
        good,
        unknown: simpleMod("unknown", COUNTER_MAIN, { permissions: ["teleport"] }),
        ungranted: simpleMod("ungranted", COUNTER_MAIN, { permissions: ["say"] }),
      },
      { capabilities: { say: () => undefined } },
    );
    expect(list.find((m) => m.name === "unknown")).toMatchObject({ status: "faulted", error: { code: "E_PERMISSION_UNKNOWN", field: "permissions[0]" } });
    expect(list.find((m) => m.name === "ungranted")).toMatchObject({ status: "faulted", error: { code: "E_PERMISSION_NOT_GRANTED", message: expect.stringContaining("say") } });
  });

  it("an unreadable file is reported, not thrown", async () => {
    if (process.getuid?.() === 0) return; // root reads anything: nothing to test
    mods = await makeModsDir({ good, bad: simpleMod("bad", COUNTER_MAIN) });
    await chmod(join(mods.dir, "bad", "main.ts"), 0o000);
    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline" });
    expect(host.mods().find((m) => m.name === "bad")).toMatchObject({ status: "faulted", error: { code: "E_MOD_UNREADABLE" } });
  });
});

describe("bad input: options and calls", () => {
  it.each([
    [{}, "modsDir"],
    [{ modsDir: "/tmp", colour: 1 }, "colour"],
    [{ modsDir: "/tmp", isolation: "thread" }, "isolation"],
    [{ modsDir: "/tmp", limits: { memoryMb: "lots" } }, "limits.memoryMb"],
    [{ modsDir: "/tmp", grants: { m: "all" } }, "grants.m"],
    [{ modsDir: "/tmp", capabilities: { say: 1 } }, "capabilities.say"],
    [{ modsDir: "/tmp", limits: { capabilityTimeoutMs: 0 } }, "limits.capabilityTimeoutMs"],
    [{ modsDir: "/tmp", limits: { capabilityCallsPerEvent: 1.5 } }, "limits.capabilityCallsPerEvent"],
    [{ modsDir: "/tmp", limits: { capabilityAnswerBytes: "1MB" } }, "limits.capabilityAnswerBytes"],
    [{ modsDir: "/tmp", limits: { capabilityBytesPerEvent: -1 } }, "limits.capabilityBytesPerEvent"],
    [{ modsDir: "/tmp", limits: { capabilityCalls: 5 } }, "limits.capabilityCalls"],
    [{ modsDir: "/tmp", logBytesPerSecond: 0 }, "logBytesPerSecond"],
    [{ modsDir: "/tmp", sandboxPredictableGc: "yes" }, "sandboxPredictableGc"],
    [{ modsDir: "/tmp", isolation: "inline", sandboxPredictableGc: true }, "sandboxPredictableGc"],
  ])("options %j are refused naming %s", async (options, field) => {
    const err = await ModHost.create(options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModhostError);
    expect(err).toMatchObject({ code: "E_OPTIONS_INVALID", location: { field } });
  });

  it("a modsDir that does not exist", async () => {
    await expect(ModHost.create({ modsDir: "/nonexistent/mods" })).rejects.toMatchObject({ code: "E_MODS_DIR" });
  });

  it("emit with a payload that is not JSON data, and after close", async () => {
    await load({ good });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(host!.emit("hit", cyclic)).rejects.toMatchObject({ code: "E_EVENT_INVALID", message: expect.stringContaining(`the payload of "hit" is not JSON data`) });
    await expect(host!.emit("hit", { n: 1n })).rejects.toMatchObject({ code: "E_EVENT_INVALID" });
    await expect(host!.emit("", {})).rejects.toMatchObject({ code: "E_EVENT_INVALID" });
    await expect(host!.state("nope")).rejects.toMatchObject({ code: "E_MOD_NOT_FOUND" });
    await host!.close();
    await expect(host!.emit("hit", {})).rejects.toMatchObject({ code: "E_HOST_CLOSED" });
  });
});

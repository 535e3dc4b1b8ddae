import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { makeModsDir, simpleMod } from "../support/mod-fixture.js";

interface Listening {
  readonly url: string;
  readonly tokenFile: string;
  readonly config?: string;
  readonly mods: { name: string; status: string; error?: { code: string; message: string } }[];
}

const ARENA = fileURLToPath(new URL("../../samples/arena", import.meta.url));
const processes: CliProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL")));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function serve(modsDir: string, ...extra: string[]): Promise<{ server: CliProcess; listening: Listening }> {
  const server = CliProcess.start(["serve", modsDir, "--json", ...extra]);
  processes.push(server);
  const listening = await server.waitFor(() => server.jsonLines().find((l) => l.type === "listening") as Listening | undefined, 60_000);
  return { server, listening };
}

/** A copy of the arena sample (mods, types, project file), so the token file lands in a temp folder. */
async function arenaCopy(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "modhost-arena-"));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  for (const part of ["mods", "types", "modhost.config.json"]) await cp(join(ARENA, part), join(root, part), { recursive: true });
  return root;
}

describe("modhost.config.json: the game side of serve", () => {
  it("runs all 3 arena mods under serve, with stubbed capabilities that answer, log and are granted per mod", async () => {
    const root = await arenaCopy();
    const { server, listening } = await serve(join(root, "mods"));
    expect(listening.config).toBe(join(root, "modhost.config.json"));
    expect(listening.mods.map((m) => [m.name, m.status])).toEqual([
      ["chat-filter", "running"],
      ["combat", "running"],
      ["loot", "running"],
    ]);
    const remote = ["--server", listening.url, "--token-file", listening.tokenFile];
    const death = await runCli(["emit", "death", JSON.stringify({ victim: "p2", victimName: "bo", killer: "p1", killerName: "ann" }), ...remote, "--json"]);
    expect(death.code, death.stderr).toBe(0);
    expect(JSON.parse(death.stdout)).toMatchObject({ event: "death", results: [{ mod: "combat", ok: true }], ms: expect.any(Number) });
    // combat called announce(): the stub answered null, and serve printed the call.
    const call = await server.waitFor(() => server.jsonLines().find((l) => l.type === "capability"));
    expect(call).toMatchObject({ data: { permission: "announce", args: ["ann defeated bo (1 kill)"], answer: null } });
    // The calls were recorded: serve sums them up when it stops.
    const stopped = await server.stop("SIGTERM");
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain("stub calls: announce 1");
  }, 120_000);

  it("refuses a bad project file with E_CONFIG_INVALID naming the file and the field", async () => {
    const mods = await makeModsDir({ loot: simpleMod("loot", "export default {}") });
    cleanups.push(() => mods.cleanup());
    const file = join(mods.dir, "modhost.config.json");
    await writeFile(file, JSON.stringify({ capabilities: { notify: {} }, grants: { shop: ["notfy"] } }));
    const bad = await runCli(["serve", mods.dir, "--json"]);
    expect(bad.code).toBe(1);
    const { error } = JSON.parse(bad.stdout.trim().split("\n").at(-1) as string) as { error: { code: string; message: string; file: string; field: string } };
    expect(error).toMatchObject({ code: "E_CONFIG_INVALID", file, field: "grants.shop[0]" });
    expect(error.message).toContain('"notfy"');
    expect(error.message).toContain("offered: notify");

    await writeFile(file, '{ "capabilities": { "notify": {} },\n  "limits": { "memoryMB": 64 } }');
    const typo = await runCli(["serve", mods.dir]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(`${file}#limits.memoryMB E_CONFIG_INVALID unknown limit (allowed: memoryMb,`);

    await writeFile(file, "{ nope");
    const notJson = await runCli(["serve", mods.dir]);
    expect(notJson.stderr).toMatch(/modhost\.config\.json(:\d+:\d+)? E_CONFIG_INVALID not JSON/);
  }, 120_000);

  it("without a project file, a mod asking for a permission faults with a hint saying how to offer it", async () => {
    const mods = await makeModsDir({ shop: simpleMod("shop", `import { defineMod } from "@modhost/sdk";\nexport default defineMod({ init: () => ({}), on: {} });\n`, { permissions: ["notify"] }) });
    cleanups.push(() => mods.cleanup());
    const { listening } = await serve(mods.dir);
    expect(listening.config).toBeUndefined();
    const [shop] = listening.mods;
    expect(shop).toMatchObject({ name: "shop", status: "faulted", error: { code: "E_PERMISSION_UNKNOWN" } });
    expect(shop?.error?.message).toContain('permission "notify" is not offered by the game (offered: none)');
    expect(shop?.error?.message).toContain('"capabilities": { "notify": { "answer": ... } } to modhost.config.json');
  }, 120_000);
});

describe("modhost.config.json: the game side of dev", () => {
  it("dev on an arena mod finds the project file two folders up, runs the mod with its grant, and sends dev.emit after the swap", async () => {
    const root = await arenaCopy();
    const dev = CliProcess.start(["dev", join(root, "mods", "chat-filter")]);
    processes.push(dev);
    await dev.waitFor(() => (dev.stdout.includes("chat-filter 1.0.0: loaded") ? true : undefined), 60_000);
    expect(dev.stderr).toContain(`project file ${join(root, "modhost.config.json")}`);
    // The arena's dev.emit is a chat line: its answer follows the swap.
    await dev.waitFor(() => (/emit chat:\n✓ chat-filter 1\.0\.0 -> \{"text":"hello there","blocked":false\}/.test(dev.stdout) ? true : undefined), 30_000);
    expect((await dev.stop("SIGINT")).code).toBe(0);
  }, 120_000);
});

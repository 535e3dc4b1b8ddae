import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

interface Listening {
  readonly url: string;
  readonly tokenFile: string;
}

const processes: CliProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL")));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function modsDir(mods: Record<string, ReturnType<typeof simpleMod>>): Promise<ModsDir> {
  const dir = await makeModsDir(mods);
  cleanups.push(() => dir.cleanup());
  return dir;
}

async function serve(mods: ModsDir): Promise<Listening> {
  const server = CliProcess.start(["serve", mods.dir, "--json"]);
  processes.push(server);
  return server.waitFor(() => server.jsonLines().find((l) => l.type === "listening") as Listening | undefined, 60_000);
}

/** Generous time limits: the machine running the tests may be loaded. */
const SLOW_OK = { limits: { callTimeoutMs: 1000 } };
const remote = (l: Listening): string[] => ["--server", l.url, "--token-file", l.tokenFile];
const times = (n: number): string => COUNTER_MAIN.replace("(state.hits[e.player] ?? 0) + 1", `(state.hits[e.player] ?? 0) + ${n}`);

describe("emit and state from the command line", () => {
  it("sends an event, shows each answer with its time, reads the state, and says when no mod handles an event", async () => {
    const mods = await modsDir({ counter: simpleMod("counter", COUNTER_MAIN, SLOW_OK), other: simpleMod("other", COUNTER_MAIN, SLOW_OK) });
    const l = await serve(mods);
    const hit = await runCli(["emit", "hit", '{"player":"ann"}', ...remote(l)]);
    expect(hit.code, hit.stderr).toBe(0);
    expect(hit.stdout).toMatch(/✓ counter 1\.0\.0 -> 1\n✓ other 1\.0\.0 -> 1\n\([\d.]+ ms on the server, [\d.]+ ms round trip\)/);
    const only = await runCli(["emit", "hit", '{"player":"ann"}', "--mod", "counter", ...remote(l), "--json"]);
    expect(JSON.parse(only.stdout)).toMatchObject({ event: "hit", results: [{ mod: "counter", ok: true, value: 2 }], ms: expect.any(Number) });

    const state = await runCli(["state", "counter", ...remote(l), "--json"]);
    expect(state.code, state.stderr).toBe(0);
    expect(JSON.parse(state.stdout)).toMatchObject({ mod: "counter", state: { hits: { ann: 2 } }, ms: expect.any(Number) });

    const none = await runCli(["emit", "hti", "{}", ...remote(l)]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('no running mod handles "hti" (events handled: hit)');
    const badJson = await runCli(["emit", "hit", "{player:1}", ...remote(l)]);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain("the payload is not JSON");
    const noMod = await runCli(["state", "nope", ...remote(l)]);
    expect(noMod).toMatchObject({ code: 1, stderr: expect.stringContaining("E_MOD_NOT_FOUND") });
  }, 120_000);
});

describe("versions as first-class", () => {
  it("lists versions with hash, source, when, how and who; rolls back to a named version; tells held from refused", async () => {
    const mods = await modsDir({});
    const l = await serve(mods);
    const work = await modsDir({ counter: simpleMod("counter", COUNTER_MAIN, SLOW_OK) });
    const dir = join(work.dir, "counter");
    for (const [version, n] of [["1.0.0", 1], ["1.1.0", 2], ["1.2.0", 3]] as const) {
      await work.write("counter", simpleMod("counter", times(n), { version, limits: { memoryMb: 32, callTimeoutMs: 1000 } }));
      const deployed = await runCli(["deploy", dir, ...remote(l)]);
      expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    }
    const listed = JSON.parse((await runCli(["versions", "counter", ...remote(l), "--json"])).stdout) as { versions: Record<string, unknown>[] };
    expect(listed.versions.map((v) => [v.version, v.current, v.pending, v.how, v.source])).toEqual([
      ["1.0.0", false, false, "load", "deploy"],
      ["1.1.0", false, false, "swap", "deploy"],
      ["1.2.0", true, false, "swap", "deploy"],
    ]);
    expect(listed.versions[2]).toMatchObject({ hash: expect.stringMatching(/^[0-9a-f]{64}$/), at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), by: expect.stringContaining("@") });

    // A version that raises a limit is held: exit 4, "held for approval", its files kept out of the folder.
    await work.write("counter", simpleMod("counter", times(9), { version: "2.0.0", limits: { memoryMb: 64, callTimeoutMs: 1000 } }));
    const held = await runCli(["deploy", dir, ...remote(l)]);
    expect(held.code).toBe(4);
    expect(held.stdout).toContain("counter 1.2.0: held for approval");
    expect(held.stdout).not.toContain("refused");
    expect(await readFile(join(mods.dir, "counter", "main.ts"), "utf8")).toContain("+ 3");
    const status = await runCli(["status", ...remote(l)]);
    expect(status.stdout).toMatch(/counter\s+1\.2\.0\s+pending-approval/);
    expect(status.stdout).toMatch(/pending: 2\.0\.0 \([0-9a-f]{12}\): it raises limits: memoryMb/);
    const versions = await runCli(["versions", "counter", ...remote(l)]);
    expect(versions.stdout).toMatch(/\?\s+2\.0\.0\s+[0-9a-f]{12}\s+folder\s+\S+ \S+\s+pending/);
    // A reload reads the folder, which still holds the live version: nothing is proposed again.
    const reload = await runCli(["reload", "counter", ...remote(l), "--json"]);
    expect(JSON.parse(reload.stdout)).toMatchObject({ ok: true, kind: "noop" });
    // Approving swaps it in and writes its files.
    const approved = await runCli(["approve", "counter", ...remote(l), "--json"]);
    expect(JSON.parse(approved.stdout)).toMatchObject({ ok: true, from: "1.2.0", to: "2.0.0" });
    expect(await readFile(join(mods.dir, "counter", "main.ts"), "utf8")).toContain("+ 9");

    const back = await runCli(["rollback", "counter", "--to", "1.0.0", ...remote(l), "--json"]);
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ ok: true, kind: "rollback", from: "2.0.0", to: "1.0.0" });
    const after = JSON.parse((await runCli(["versions", "counter", ...remote(l), "--json"])).stdout) as { versions: Record<string, unknown>[] };
    expect(after.versions.map((v) => [v.version, v.current, v.how])).toEqual([["1.0.0", true, "rollback"]]);
    const missing = await runCli(["rollback", "counter", "--to", "1.1.0", ...remote(l)]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('E_NO_PREVIOUS_VERSION mod counter has no earlier version "1.1.0" to roll back to (earlier versions: none)');
  }, 120_000);
});

describe("modhost console", () => {
  it("runs piped commands with their timings, and exits 1 when one failed", async () => {
    const mods = await modsDir({ counter: simpleMod("counter", COUNTER_MAIN, SLOW_OK) });
    const l = await serve(mods);
    const input = ['emit hit {"player": "bo"} --mod counter', "emit hit {\"player\":\"bo\"}", "state counter", "versions counter", "status", "frobnicate", "exit"].join("\n");
    const run = await runCli(["console", ...remote(l)], { input, env: { MODHOST_HISTORY: join(mods.dir, ".history") } });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✓ counter 1\.0\.0 -> 1\n\([\d.]+ ms on the server, [\d.]+ ms round trip\)/);
    expect(run.stdout).toContain("✓ counter 1.0.0 -> 2");
    expect(run.stdout).toMatch(/"bo": 2/);
    expect(run.stdout).toMatch(/\*\s+1\.0\.0/);
    expect(run.stdout).toMatch(/counter\s+1\.0\.0\s+running/);
    expect(run.stderr).toContain('unknown command "frobnicate"');
    expect(await readFile(join(mods.dir, ".history"), "utf8")).toContain("state counter\n");
  }, 120_000);
});

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { COUNTER_MAIN, makeModsDir, simpleMod } from "../support/mod-fixture.js";

const processes: CliProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL")));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("CLI papercuts", () => {
  it("an unknown command gets a did-you-mean", async () => {
    const typo = await runCli(["chek", "x"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('modhost: unknown command "chek": did you mean "modhost check"?\n');
    const far = await runCli(["zzzzzz"]);
    expect(far.stderr).toContain("modhost --help lists the commands");
  });

  it("--help wraps at word boundaries within 80 columns", async () => {
    const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== "");
    for (const args of [["--help"], ["serve", "--help"], ["dev", "--help"], ["console", "--help"], ["emit", "--help"]]) {
      const help = await runCli(args);
      expect(help.code).toBe(0);
      const lines = help.stdout.trimEnd().split("\n");
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
      // No word was cut: the same words as the help wrapped to 120 columns, in the same order.
      const wide = await runCli(args, { env: { COLUMNS: "120" } });
      expect(wide.stdout.split("\n").some((line) => line.length > 80)).toBe(true);
      expect(words(help.stdout)).toEqual(words(wide.stdout));
    }
    const top = await runCli(["--help"]);
    expect(top.stdout).toMatch(/ {2}serve <modsDir> \[--state <dir>\]/);
    expect(top.stdout).toContain("4 held for approval");
  });

  it("serve refuses a mods folder that does not exist (E_MODS_DIR) and creates nothing", async () => {
    const root = await mkdtemp(join(tmpdir(), "modhost-nomods-"));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const run = await runCli(["serve", "nomods"], { cwd: root });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("E_MODS_DIR modhost serve: there is no folder nomods");
    expect(existsSync(join(root, "nomods"))).toBe(false);
  });

  it("Ctrl-C on serve (SIGINT to the whole process group) shuts down without a sandbox crash; lines carry timestamps; logs says when there is nothing", async () => {
    const mods = await makeModsDir({ counter: simpleMod("counter", COUNTER_MAIN, { limits: { callTimeoutMs: 1000 } }) });
    cleanups.push(() => mods.cleanup());
    const server = CliProcess.start(["serve", mods.dir], { detached: true });
    processes.push(server);
    await server.waitFor(() => (server.stdout.includes("try ") ? true : undefined), 60_000);
    const url = /url\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(server.stdout)?.[1] as string;
    const remote = ["--server", url, "--token-file", join(mods.dir, ".modhost-token")];
    const empty = await runCli(["logs", ...remote]);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain("no log lines on the server yet");
    expect((await runCli(["reload", "counter", ...remote])).code).toBe(0);
    // The swap line the server printed starts with the time.
    await server.waitFor(() => (/\n\d\d:\d\d:\d\d\.\d{3} = counter 1\.0\.0: no change/.test(server.stdout) ? true : undefined));

    // One Ctrl-C only: a second signal during the shutdown ends the process at once, by design
    // (cli/shutdown-signal.ts), and a loaded machine can take seconds to close the sandbox.
    server.signalGroup("SIGINT");
    const stopped = await server.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toMatch(/\d\d:\d\d:\d\d\.\d{3} SIGINT: shutting down/);
    expect(stopped.stdout + stopped.stderr).not.toContain("sandbox process died");
  }, 120_000);
});

import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

const processes: CliProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL")));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const LOGGER = `import { defineMod } from "@modhost/sdk";
export default defineMod({
  init: () => ({}),
  on: { say(state, e: { text: string }) { console.log("said " + e.text); return e.text; } },
});
`;
const SLOW_OK = { limits: { callTimeoutMs: 1000 } };

function start(args: string[]): CliProcess {
  const child = CliProcess.start(args);
  processes.push(child);
  return child;
}

/** A port nothing listens on right now, so a server can be restarted on it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function modsDir(mods: Record<string, ReturnType<typeof simpleMod>>): Promise<ModsDir> {
  const dir = await makeModsDir(mods);
  cleanups.push(() => dir.cleanup());
  return dir;
}

/** `serve` on `port`, waiting until it listens. */
async function serve(mods: ModsDir, port: number): Promise<CliProcess> {
  const server = start(["serve", mods.dir, "--port", String(port), "--json"]);
  await server.waitFor(() => server.jsonLines().find((l) => l.type === "listening"), 60_000);
  return server;
}

describe("reconnecting when the server restarts", () => {
  it("logs --follow keeps following across a restart, and says so", async () => {
    const mods = await modsDir({ talker: simpleMod("talker", LOGGER, SLOW_OK) });
    const port = await freePort();
    const remote = ["--server", `http://127.0.0.1:${port}`, "--token-file", join(mods.dir, ".modhost-token")];
    const first = await serve(mods, port);
    const follow = start(["logs", "--follow", ...remote]);
    await follow.waitFor(() => (follow.stderr.includes("following") ? true : undefined));
    expect((await runCli(["emit", "say", '{"text":"one"}', ...remote])).code).toBe(0);
    await follow.waitFor(() => (follow.stdout.includes("said one") ? true : undefined));

    expect((await first.stop("SIGTERM")).code).toBe(0);
    await follow.waitFor(() => (follow.stderr.includes("the server shut down; reconnecting with backoff") ? true : undefined));
    // Down for a while: the follower retries and does not exit.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await serve(mods, port);
    await follow.waitFor(() => (follow.stderr.includes("reconnected: following again") ? true : undefined), 30_000);
    expect((await runCli(["emit", "say", '{"text":"two"}', ...remote])).code).toBe(0);
    await follow.waitFor(() => (follow.stdout.includes("said two") ? true : undefined));
    expect(follow.stdout.match(/said one/g)).toHaveLength(1);
    const stopped = await follow.stop("SIGINT");
    expect(stopped.code).toBe(0);
  }, 120_000);

  it("console reconnects when the server restarts and goes on answering", async () => {
    const mods = await modsDir({ talker: simpleMod("talker", LOGGER, SLOW_OK) });
    const port = await freePort();
    const first = await serve(mods, port);
    const repl = CliProcess.start(["console", "--server", `http://127.0.0.1:${port}`, "--token-file", join(mods.dir, ".modhost-token")], { stdin: true, env: { MODHOST_HISTORY: join(mods.dir, ".history") } });
    processes.push(repl);
    repl.write('emit say {"text":"before"}\n');
    await repl.waitFor(() => (repl.stdout.includes('✓ talker 1.0.0 -> "before"') ? true : undefined), 30_000);
    await first.stop("SIGTERM");
    await repl.waitFor(() => (repl.stderr.includes("the server shut down; reconnecting with backoff") ? true : undefined));
    await serve(mods, port);
    await repl.waitFor(() => (repl.stderr.includes("reconnected") ? true : undefined), 30_000);
    repl.write('emit say {"text":"after"}\nexit\n');
    const done = await repl.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('✓ talker 1.0.0 -> "after"');
  }, 120_000);

  it("dev --server pushes the folder again once the server is back", async () => {
    const mods = await modsDir({});
    const work = await modsDir({ talker: simpleMod("talker", LOGGER, SLOW_OK) });
    const port = await freePort();
    const tokenFile = join(mods.dir, ".modhost-token");
    const first = await serve(mods, port);
    const dev = start(["dev", join(work.dir, "talker"), "--server", `http://127.0.0.1:${port}`, "--token-file", tokenFile, "--emit", "say", "--payload", '{"text":"after swap"}']);
    await dev.waitFor(() => (dev.stdout.includes("talker 1.0.0: loaded") ? true : undefined), 60_000);
    // The configured event went out after the swap, and its answer was shown.
    await dev.waitFor(() => (/emit say:\n✓ talker 1\.0\.0 -> "after swap"/.test(dev.stdout) ? true : undefined));
    await first.stop("SIGTERM");
    await dev.waitFor(() => (dev.stderr.includes("reconnecting with backoff") ? true : undefined));
    // A fresh server with an empty mods folder: dev deploys the mod to it again.
    await serve(mods, port);
    await dev.waitFor(() => (dev.stderr.includes("reconnected; pushing the folder again") ? true : undefined), 30_000);
    await dev.waitFor(() => (dev.stdout.match(/talker 1\.0\.0: (loaded|no change)/g)?.length === 2 ? true : undefined), 30_000);
    expect(dev.stdout.match(/talker 1\.0\.0: (loaded|no change)/g)).toHaveLength(2);
    expect((await dev.stop("SIGINT")).code).toBe(0);
  }, 120_000);
});

/**
 * What recovery found is visible in `modhost status` (issue 11): the server gets the report over
 * the admin channel (mods()), the table shows it under the mod, --json carries it whole.
 */
import { describe, expect, it } from "vitest";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModHost } from "modhost";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { makeModsDir, simpleMod } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

const processes: CliProcess[] = [];
const scratch = persistScratch({ release: () => Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL"))) });

const COUNTER = `export default { init: () => ({ n: 0 }), on: { inc(state: { n: number }) { return ++state.n; } } };`;

describe("modhost status shows recovery", () => {
  it("a mod faulted by a damaged journal: status says what was found and where the copy is", async () => {
    scratch.mods = await makeModsDir({ counter: simpleMod("counter", COUNTER), other: simpleMod("other", COUNTER.replace("inc(", "other(")) });
    scratch.stateDir = await mkdtemp(join(tmpdir(), "modhost-status-"));
    const host = await ModHost.create({ modsDir: scratch.mods.dir, stateDir: scratch.stateDir, isolation: "inline", durability: "fsync" });
    for (let i = 0; i < 20; i++) await host.emit("inc");
    await host.emit("other");
    await host.close();
    const dir = join(scratch.stateDir, "mods", "counter");
    const journal = join(dir, (await readdir(dir)).filter((f) => f.startsWith("journal-")).sort().at(-1) as string);
    const text = await readFile(journal, "utf8");
    await writeFile(journal, text.replace('"seq":5,', '"seq":6,'));

    const server = CliProcess.start(["serve", scratch.mods.dir, "--state", scratch.stateDir, "--json"]);
    processes.push(server);
    const listening = await server.waitFor(() => server.jsonLines().find((l) => l.type === "listening") as { url: string; tokenFile: string } | undefined);
    const remote = ["--server", listening.url, "--token-file", listening.tokenFile];
    const json = JSON.parse((await runCli(["status", ...remote, "--json"])).stdout) as { mods: { name: string; status: string; recovery?: { outcome: string; keptAside: string[] } }[] };
    expect(json.mods.find((m) => m.name === "counter")).toMatchObject({ status: "faulted", recovery: { outcome: "corrupt", keptAside: [expect.stringContaining("damaged")] } });
    expect(json.mods.find((m) => m.name === "other")).toMatchObject({ status: "running", recovery: { outcome: "recovered" } });
    const table = (await runCli(["status", ...remote])).stdout;
    expect(table).toMatch(/counter\s+1\.0\.0\s+faulted/);
    expect(table).toContain("recovery: saved state damaged or incomplete");
    expect(table).toMatch(/damage: journal-\d+\.log: a record fails its checksum/);
    expect(table).toMatch(/kept aside: .*damaged/);
    expect(table).toMatch(/recovery: recovered from checkpoint-\d+\.dat \+ 1 journal records/);
  }, 120_000);
});

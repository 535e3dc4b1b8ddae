import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModHost, type LogEvent } from "modhost";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { makePublisher, writeTrust, type Publisher } from "../support/signed-mod.js";
import { startRegistry, type TestRegistry } from "../support/verdaccio.js";
import { allStarted } from "../support/all-started.js";

const V1 = `import { defineMod } from "@modhost/sdk";
type State = { hits: Record<string, number> };
export default defineMod<State>({
  init: () => ({ hits: {} }),
  on: { hit(state, e: { player: string }) { state.hits[e.player] = (state.hits[e.player] ?? 0) + 1; return { v: 1, n: state.hits[e.player] }; } },
});
`;
const V2 = V1.replace("{ v: 1,", "{ v: 2,");
// 3.0.0 changes the state's shape and carries it over with migrate().
const V3 = `import { defineMod } from "@modhost/sdk";
type State = { players: Record<string, { hits: number }> };
export default defineMod<State>({
  init: () => ({ players: {} }),
  migrate: (old: unknown) => {
    const hits = (old as { hits: Record<string, number> }).hits;
    return { players: Object.fromEntries(Object.entries(hits).map(([p, n]) => [p, { hits: n }])) };
  },
  on: { hit(state, e: { player: string }) { const p = (state.players[e.player] ??= { hits: 0 }); p.hits++; return { v: 3, n: p.hits }; } },
});
`;
const manifest = (version: string): object => ({ name: "counter", version, entry: "main.ts", permissions: [] });

describe("a host following a package on a real npm registry", () => {
  let registry: TestRegistry;
  let publisher: Publisher;
  let work: string;
  beforeAll(async () => {
    [registry, publisher] = await allStarted<[TestRegistry, Publisher]>([startRegistry(), makePublisher()], [(r) => r.stop(), (p) => p.cleanup()]);
    work = await mkdtemp(join(tmpdir(), "modhost-follow-"));
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    await publisher?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("modhost serve --registry --trust --follow name@tag installs the package and status says so", async () => {
    const trust = await writeTrust(join(work, "cli-trust.json"), [{ key: publisher.publicKey, mods: ["greeter"] }]);
    const modsDir = join(work, "cli-mods");
    await mkdir(modsDir, { recursive: true });
    const packed = await publisher.pack("greeter", { "mod.json": { name: "greeter", version: "0.1.0", entry: "main.ts", permissions: [] }, "main.ts": V1 }, { name: "@studio/greeter" });
    await registry.publish(packed.file, "stable");
    const server = CliProcess.start(["serve", modsDir, "--json", "--registry", registry.url, "--trust", trust, "--follow", "@studio/greeter@stable", "--poll", "200"], { env: { MODHOST_REGISTRY_TOKEN: registry.token } });
    try {
      const listening = await server.waitFor(() => server.jsonLines().find((l) => l.type === "listening") as { url: string; tokenFile: string } | undefined, 60_000);
      const remote = ["--server", listening.url, "--token-file", listening.tokenFile];
      let table = "";
      for (let i = 0; i < 100 && !/greeter\s+0\.1\.0\s+running/.test(table); i++) {
        table = (await runCli(["status", ...remote])).stdout;
        if (!/greeter/.test(table)) await new Promise((r) => setTimeout(r, 200));
      }
      expect(table).toMatch(new RegExp(`greeter\\s+0\\.1\\.0\\s+running\\s+\\w+\\s+registry @studio/greeter@0\\.1\\.0 key ${publisher.keyId}`));
    } finally {
      await server.stop("SIGTERM");
    }
  }, 180_000);

  it("keygen -> pack -> npm publish -> the serving host swaps each new version in with its state; 304s cost no download; a restart with the registry down comes back from the cache", async () => {
    const trust = await writeTrust(join(work, "trust.json"), [{ key: publisher.publicKey, mods: ["counter"] }]);
    const modsDir = join(work, "mods");
    const stateDir = join(work, "state");
    await (await import("node:fs/promises")).mkdir(modsDir, { recursive: true });
    const v1 = await publisher.pack("v1", { "mod.json": manifest("1.0.0"), "main.ts": V1 }, { name: "@studio/counter" });
    await registry.publish(v1.file);

    const options = { modsDir, stateDir, isolation: "inline" as const, probation: false as const, registry: { url: registry.url, token: registry.token, trustedKeys: trust, follow: { "@studio/counter": "latest" }, pollMs: 600_000 } };
    let host = await ModHost.create(options);
    try {
      const logs: LogEvent[] = [];
      host.on("log", (line) => logs.push(line));
      await host.pollRegistry(); // joins the first poll started by create()
      expect(host.mods()).toMatchObject([{ name: "counter", version: "1.0.0", status: "running", origin: { source: "registry", package: "@studio/counter", version: "1.0.0", keyId: publisher.keyId } }]);
      expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: { v: 1, n: 1 } }]);
      expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: { v: 1, n: 2 } }]);

      // Nothing new: every poll is a 304 and downloads nothing.
      const before = host.metrics().registry!;
      for (let i = 0; i < 3; i++) await host.pollRegistry();
      const after = host.metrics().registry!;
      expect(after.notModified - before.notModified).toBe(3);
      expect(after.tarballDownloads).toBe(before.tarballDownloads);

      // 2.0.0: a code change, the state carried as it is.
      const v2 = await publisher.pack("v2", { "mod.json": manifest("2.0.0"), "main.ts": V2 }, { name: "@studio/counter" });
      await registry.publish(v2.file);
      await host.pollRegistry();
      expect(host.mods()[0]).toMatchObject({ version: "2.0.0", origin: { source: "registry", version: "2.0.0" } });
      expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: { v: 2, n: 3 } }]);

      // 3.0.0: the state's shape changes and migrate() carries it.
      const v3 = await publisher.pack("v3", { "mod.json": manifest("3.0.0"), "main.ts": V3 }, { name: "@studio/counter" });
      await registry.publish(v3.file);
      await host.pollRegistry();
      expect(host.mods()[0]).toMatchObject({ version: "3.0.0", status: "running" });
      expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: { v: 3, n: 4 } }]);
      expect(await host.state("counter")).toEqual({ players: { ann: { hits: 4 } } });
      expect(host.metrics().registry).toMatchObject({ installs: 3, tarballDownloads: 3 });
      expect(logs.filter((l) => /registry: @studio\/counter@\d\.0\.0 .*is live/.test(l.message))).toHaveLength(3);

      // The cache holds the verified tarball by content.
      const ref = JSON.parse(await readFile(join(stateDir, "packages", "refs", `${encodeURIComponent("@studio/counter")}.json`), "utf8")) as { version: string; sha256: string };
      expect(ref).toMatchObject({ version: "3.0.0", sha256: v3.sha256 });
      expect((await readFile(join(stateDir, "packages", "blobs", `${v3.sha256}.tgz`))).equals(await readFile(v3.file))).toBe(true);
    } finally {
      await host.close();
    }

    // Restart with the registry down and the mod's folder lost: the host comes back from the cache
    // with 3.0.0 and its state (from the stateDir), says where it came from, and keeps serving.
    await registry.stop();
    await rm(join(modsDir, "counter"), { recursive: true });
    host = await ModHost.create({ ...options, registry: { ...options.registry, timeoutMs: 500 } });
    try {
      const logs: LogEvent[] = [];
      host.on("log", (line) => logs.push(line));
      await host.pollRegistry();
      expect(host.mods()).toMatchObject([{ name: "counter", version: "3.0.0", status: "running", origin: { source: "registry", package: "@studio/counter", version: "3.0.0" } }]);
      expect(await host.emit("hit", { player: "ann" })).toMatchObject([{ ok: true, value: { v: 3, n: 5 } }]);
      expect(host.metrics().registry?.failures.E_REGISTRY_UNAVAILABLE).toBeGreaterThanOrEqual(1);
    } finally {
      await host.close();
    }
  }, 300_000);
});

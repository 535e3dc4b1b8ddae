import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cohortPlace, isModhostError, type ControllerEvent } from "modhost";
import { makePublisher, type Publisher } from "../support/signed-mod.js";
import { CliProcess, runCli } from "../support/cli-runner.js";
import { counterSource, PACKAGE, POLICY, startFleet, until, type Fleet } from "./fleet-harness.js";

// A fleet of 5 real host processes, a real redis-server and a real npm registry (Verdaccio).
describe("fleet releases on Redis", () => {
  let fleet: Fleet;
  let stranger: Publisher;
  beforeAll(async () => {
    stranger = await makePublisher();
    fleet = await startFleet(5, {
      packages: [
        { version: "1.0.0", source: counterSource("1.0.0") },
        { version: "1.1.0", source: counterSource("1.1.0") },
        { version: "1.2.0", source: counterSource("1.2.0", 5) },
        // Signed by a key the servers do not trust: every server refuses it.
        { version: "1.3.0", source: counterSource("1.3.0"), by: stranger },
      ],
    });
    // The fleet's stable version: what every server already runs, promoted at once.
    // Four versions serve every test (each published one costs a `modhost pack` and an `npm
    // publish`): later tests release 1.1.0 and 1.0.0 again, which is a new release each time.
    await fleet.controller("setup").start({ mod: "counter", package: PACKAGE, version: "1.0.0", releaseId: "r0", group: null, policy: { ...POLICY, steps: [100] }, by: "test", now: Date.now() });
  }, 400_000);
  afterAll(async () => {
    if (process.env.FLEET_DUMP) for (const s of fleet?.servers ?? []) (await import("node:fs")).writeFileSync(`/tmp/w15-${s.name}.json`, JSON.stringify(s.lines.filter((l) => l.type !== undefined), null, 1));
    await fleet?.close();
    await stranger?.cleanup();
  }, 120_000);

  const versions = (): Promise<(string | undefined)[]> => Promise.all(fleet.servers.map((s) => s.version("counter")));
  const checkNoEventLost = async (): Promise<void> => {
    for (const s of fleet.servers) {
      const state = await s.state("counter");
      if ((state as { n: number }).n !== fleet.emitted.get(s.name)) (await import("node:fs")).writeFileSync(`/tmp/w15-${s.name}.json`, JSON.stringify(s.lines.filter((l) => l.type !== undefined), null, 1));
      expect(state, s.name).toEqual({ n: fleet.emitted.get(s.name) ?? 0 });
    }
  };

  it("a good canary widens 5 -> 25 -> 100 % and every server ends on it with its state", async () => {
    const events: ControllerEvent[] = [];
    const controller = fleet.controller("c1", events);
    const started = await controller.start({ mod: "counter", package: PACKAGE, version: "1.1.0", releaseId: "r1", group: null, policy: POLICY, by: "test", now: Date.now() });
    expect(started).toMatchObject({ phase: "rolling", percent: 5, stable: "1.0.0", canary: "1.1.0" });
    expect(started.pinned.length).toBeLessThanOrEqual(1);
    const final = await fleet.traffic(controller.drive("counter"));
    expect(final.phase, final.reason).toBe("promoted");
    const steps = events.flatMap((e) => (e.kind === "transition" ? [`${e.transition.action} ${e.transition.record.percent}`] : []));
    expect(steps).toEqual(["start 5", "step 25", "promote 100"]);
    // Every server converges on 1.1.0 (the promote reaches them through the stream).
    for (let i = 0; i < 600 && (await versions()).some((v) => v !== "1.1.0"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await versions()).toEqual(["1.1.0", "1.1.0", "1.1.0", "1.1.0", "1.1.0"]);
    await checkNoEventLost();
    const audit = await fleet.store.audit(10, "counter");
    expect(audit.map((a) => a.entry.action)).toEqual(["promote", "start", "step", "promote"]);
    expect(audit[2]?.entry.figures).toMatchObject({ verdict: "pass" });
  }, 300_000);

  it("a canary failing 20 % of its events aborts within two windows and every server ends on stable, no event lost", async () => {
    const events: ControllerEvent[] = [];
    const controller = fleet.controller("c2", events);
    await controller.start({ mod: "counter", package: PACKAGE, version: "1.2.0", releaseId: "r2", group: null, policy: { ...POLICY, steps: [25, 50, 100] }, by: "test", now: Date.now() });
    const final = await fleet.traffic(controller.drive("counter"));
    expect(final.phase).toBe("aborted");
    expect(final.reason).toMatch(/canary error rate/);
    const windows = events.filter((e) => e.kind === "window" && e.verdict.verdict !== "inconclusive");
    expect(windows.length).toBeLessThanOrEqual(2);
    expect(windows.every((w) => w.kind === "window" && w.verdict.verdict === "fail")).toBe(true);
    for (let i = 0; i < 600 && (await versions()).some((v) => v !== "1.1.0"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await versions()).toEqual(["1.1.0", "1.1.0", "1.1.0", "1.1.0", "1.1.0"]);
    await checkNoEventLost();
  }, 300_000);

  it("a version a server refuses (signed by an untrusted key) aborts the release at once", async () => {
    const controller = fleet.controller("c3");
    await controller.start({ mod: "counter", package: PACKAGE, version: "1.3.0", releaseId: "r3", group: null, policy: { ...POLICY, steps: [100 - 1], intervalMs: 60_000 }, by: "test", now: Date.now() });
    const final = await fleet.traffic(controller.drive("counter"));
    expect(final.phase).toBe("aborted");
    expect(final.reason).toMatch(/refused 1\.3\.0: E_/);
    expect(await versions()).toEqual(["1.1.0", "1.1.0", "1.1.0", "1.1.0", "1.1.0"]);
    await checkNoEventLost();
  }, 300_000);

  it("a release of a version the registry does not have aborts at once", async () => {
    const before = await versions();
    const controller = fleet.controller("c4");
    await controller.start({ mod: "counter", package: PACKAGE, version: "9.9.9", releaseId: "r4", group: null, policy: { ...POLICY, steps: [100 - 1], intervalMs: 60_000 }, by: "test", now: Date.now() });
    const final = await fleet.traffic(controller.drive("counter"));
    expect(final.phase).toBe("aborted");
    expect(final.reason).toMatch(/refused 9\.9\.9: E_REGISTRY_RESPONSE/);
    expect(await versions()).toEqual(before);
    await checkNoEventLost();
  }, 300_000);

  it("two operators racing: one wins, the other gets E_FLEET_CONFLICT", async () => {
    const a = fleet.controller("a");
    const b = fleet.controller("b");
    const request = (id: string) => ({ mod: "counter", package: PACKAGE, version: "1.2.0", releaseId: id, group: null, policy: POLICY, by: "test", now: Date.now() });
    const outcomes = await Promise.allSettled([a.start(request("race-a")), b.start(request("race-b"))]);
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(isModhostError(lost[0]!.reason, "E_FLEET_CONFLICT")).toBe(true);
    // A second controller cannot drive a release another one holds the lease of.
    const driving = a.drive("counter");
    await new Promise((r) => setTimeout(r, 300));
    await expect(b.drive("counter")).rejects.toMatchObject({ code: "E_FLEET_LEASE" });
    const aborts = await Promise.allSettled([a.command("counter", "abort"), b.command("counter", "abort")]);
    expect(aborts.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    const refused = aborts.find((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(isModhostError(refused?.reason, "E_FLEET_CONFLICT", "E_FLEET_STATE")).toBe(true);
    expect((await driving).phase).toBe("aborted");
    for (let i = 0; i < 600 && (await versions()).some((v) => v !== "1.1.0"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await versions()).toEqual(["1.1.0", "1.1.0", "1.1.0", "1.1.0", "1.1.0"]);
  }, 120_000);

  it("modhost release follows a rollout in the terminal (exit 1 when aborted), fleet status shows it, fleet rollback is a new release", async () => {
    const release = await fleet.traffic(runCli(["release", "counter@1.2.0", "--fleet", fleet.redis.url, "--steps", "50,100", "--interval", "1s", "--min-events", "10", "--failure-limit", "1", "--json"], { timeoutMs: 240_000 }));
    // The CLI's own lines (each window's figures and verdict) say why, if it ever ends otherwise.
    expect(release.code, `${release.stderr}\n${release.stdout}`).toBe(1);
    const lines = release.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ type: "final", record: { phase: "aborted", canary: "1.2.0", stable: "1.1.0" } });
    expect(lines.some((l) => l.type === "window" && (l.verdict as { verdict: string }).verdict === "fail")).toBe(true);
    for (let i = 0; i < 600 && (await versions()).some((v) => v !== "1.1.0"); i++) await new Promise((r) => setTimeout(r, 100));
    const status = await runCli(["fleet", "status", "counter", "--fleet", fleet.redis.url, "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const doc = JSON.parse(status.stdout) as { mods: { record: { phase: string }; servers: { server: string; version: string }[]; history: { entry: { action: string } }[] }[] };
    expect(doc.mods[0]?.record.phase).toBe("aborted");
    expect(doc.mods[0]?.servers.map((x) => x.version)).toEqual(["1.1.0", "1.1.0", "1.1.0", "1.1.0", "1.1.0"]);
    expect(doc.mods[0]?.history.at(-1)?.entry.action).toBe("abort");
    const text = await runCli(["fleet", "status", "--fleet", fleet.redis.url]);
    expect(text.stdout).toMatch(/stable 1\.1\.0\s+canary 1\.2\.0\s+0 %\s+aborted/);
    // Rolling back to 1.0.0 is a release of it, promoted at once; state carried over.
    const back = await runCli(["fleet", "rollback", "counter", "--to", "1.0.0", "--fleet", fleet.redis.url]);
    expect(back.code, back.stderr).toBe(0);
    await fleet.traffic(new Promise((r) => setTimeout(r, 300)));
    for (let i = 0; i < 600 && (await versions()).some((v) => v !== "1.0.0"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await versions()).toEqual(["1.0.0", "1.0.0", "1.0.0", "1.0.0", "1.0.0"]);
    expect((await fleet.store.release("counter"))).toMatchObject({ kind: "rollback", phase: "promoted", canary: "1.0.0", stable: "1.1.0" });
    await checkNoEventLost();
    const again = await runCli(["fleet", "promote", "counter", "--fleet", fleet.redis.url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/E_FLEET_STATE/);
  }, 300_000);

  it("a controller killed mid-rollout is driven to the end by a server holding the lease, across a Redis restart, with no command after; servers keep serving meanwhile", async () => {
    const release = CliProcess.start(["release", "counter@1.1.0", "--fleet", fleet.redis.url, "--steps", "50,100", "--interval", "2s", "--min-events", "10", "--json"]);
    await fleet.traffic(release.waitFor(() => release.jsonLines().find((l) => l.type === "transition" && l.action === "start"), 120_000));
    await release.stop("SIGKILL");
    // Once the cohort has swapped (an install under way when Redis dies finishes, by design),
    // Redis dies too; every server keeps its version and answers events.
    const record0 = (await fleet.store.release("counter"))!;
    const expected = fleet.servers.map((s) => (record0.pinned.includes(s.name) || cohortPlace(s.name, "counter", record0.releaseId) < record0.percent ? "1.1.0" : record0.stable));
    for (let i = 0; i < 600 && JSON.stringify(await versions()) !== JSON.stringify(expected); i++) await new Promise((r) => setTimeout(r, 100));
    const during = await versions();
    expect(during).toEqual(expected);
    await fleet.redis.kill();
    await fleet.traffic(new Promise((r) => setTimeout(r, 1500)));
    expect(await versions()).toEqual(during);
    await fleet.redis.restart();
    for (let i = 0; i < 100 && !fleet.connection.ready; i++) await new Promise((r) => setTimeout(r, 100));
    // No CLI runs from here: once the dead controller's lease (10 s) has expired, a server takes
    // it and drives the release from its stored step (fenced by the epoch: no step twice).
    await fleet.traffic(until("the release settled", async () => {
      const r = await fleet.store.release("counter");
      return r !== undefined && r.phase !== "rolling" && r.phase !== "paused";
    }, 240_000));
    const record = await fleet.store.release("counter");
    expect(record).toMatchObject({ phase: "promoted", canary: "1.1.0" });
    expect(record?.by).toMatch(/^controller:server\.s\d$/);
    const audit = (await fleet.store.audit(5, "counter")).filter((a) => a.entry.releaseId === record?.releaseId);
    expect(audit.map((a) => a.entry.action)).toEqual(["start", "promote"]);
    expect(audit.map((a) => a.epoch)).toEqual([audit[0]!.epoch, audit[0]!.epoch + 1]);
    const driver = fleet.servers.find((s) => `controller:server.${s.name}` === record?.by)!;
    expect(driver.lines.some((l) => l.type === "log" && String(l.message).includes(`drives the release ${record?.releaseId}`))).toBe(true);
    for (let i = 0; i < 600 && (await versions()).some((v) => v !== "1.1.0"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await versions()).toEqual(["1.1.0", "1.1.0", "1.1.0", "1.1.0", "1.1.0"]);
    await checkNoEventLost();
  }, 400_000);

  it("a server killed mid-swap restarts from its stateDir and converges", async () => {
    await fleet.traffic(new Promise((r) => setTimeout(r, 500)));
    const victim = fleet.servers[2]!;
    const controller = fleet.controller("c6");
    await controller.start({ mod: "counter", package: PACKAGE, version: "1.0.0", releaseId: "r6", group: null, policy: { ...POLICY, steps: [100] }, by: "test", now: Date.now() });
    await victim.waitFor((l) => l.type === "log" && /fleet: counter -> 1\.0\.0 \(release r6,/.test(String(l.message)), 60_000);
    const back = await fleet.restart(victim);
    expect(back.lines.some((l) => l.type === "ready")).toBe(true);
    for (let i = 0; i < 600 && (await versions()).some((v) => v !== "1.0.0"); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await versions()).toEqual(["1.0.0", "1.0.0", "1.0.0", "1.0.0", "1.0.0"]);
    await fleet.traffic(new Promise((r) => setTimeout(r, 300)));
    await checkNoEventLost();
  }, 300_000);

  it("a server that joins mid-release gets the version its cohort says", async () => {
    const controller = fleet.controller("c7");
    const record = await controller.start({ mod: "counter", package: PACKAGE, version: "1.1.0", releaseId: "r7", group: null, policy: { ...POLICY, steps: [10, 100], intervalMs: 600_000 }, by: "test", now: Date.now() });
    const stable = record.stable!;
    // 10 %: few of the five swap there and back (each swap is a download, a verification and a
    // type-check on every such server), yet the cohort is not empty (one is pinned if need be).
    const inCohort = (name: string): boolean => record.pinned.includes(name) || cohortPlace(name, "counter", "r7") < 10;
    // Two newcomers: one whose place is under 10 %, one above (names chosen by their hash).
    const names = Array.from({ length: 200 }, (_, i) => `late-${i}`);
    const joiners = [names.find(inCohort)!, names.find((n) => !inCohort(n))!];
    const started = await Promise.all(joiners.map((n) => fleet.startServer(n)));
    try {
      const want = joiners.map((n) => (inCohort(n) ? "1.1.0" : stable));
      const got = async (): Promise<(string | undefined)[]> => Promise.all(started.map((s) => s.version("counter")));
      for (let i = 0; i < 600 && JSON.stringify(await got()) !== JSON.stringify(want); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await got()).toEqual(want);
      await controller.command("counter", "abort", "test over");
      for (let i = 0; i < 600 && (await got()).some((v) => v !== stable); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await got()).toEqual([stable, stable]);
    } finally {
      for (const s of started) {
        await s.stop();
        fleet.servers.splice(fleet.servers.indexOf(s), 1);
      }
    }
    for (let i = 0; i < 600 && (await versions()).some((v) => v !== stable); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await versions()).toEqual([stable, stable, stable, stable, stable]);
  }, 300_000);

  it("malformed or hostile data in the Redis keys is bad input: servers keep serving, readers say E_FLEET_DATA", async () => {
    const cmd = (args: string[]) => fleet.connection.command(args);
    await cmd(["HSET", fleet.store.keys.release("counter"), "epoch", "7", "record", '{"format":1,"mod":"counter","percent":1e999,"__proto__":{"x":1}}']);
    await cmd(["SADD", fleet.store.keys.mods, "../../etc", "UPPER", "x".repeat(500)]);
    await cmd(["SET", fleet.store.keys.release("ghost"), "not a hash"]);
    await cmd(["SADD", fleet.store.keys.mods, "ghost"]);
    await cmd(["ZADD", fleet.store.keys.servers, "1", "evil|id", "2", "s-missing"]);
    await cmd(["SET", fleet.store.keys.server("s-missing"), "{not json"]);
    await cmd(["HSET", fleet.store.keys.health("counter", "r1"), "a|b", "x", "s1|1.1.0|events", "-5", "s1|1.1.0|bogus", "3"]);
    await expect(fleet.store.release("counter")).rejects.toMatchObject({ code: "E_FLEET_DATA" });
    await expect(fleet.store.release("ghost")).rejects.toMatchObject({ code: "E_FLEET_DATA" });
    expect(await fleet.store.mods()).toEqual(["counter", "ghost"]);
    expect((await fleet.store.heartbeats()).map((b) => b.server).sort()).toEqual(["s1", "s2", "s3", "s4", "s5"]);
    const before = await versions();
    await fleet.traffic(new Promise((r) => setTimeout(r, 2500)));
    for (const s of fleet.servers) await s.waitFor((l) => l.type === "log" && /E_FLEET_DATA|malformed|WRONGTYPE/.test(String(l.message)), 30_000);
    expect(await versions()).toEqual(before);
    await checkNoEventLost();
    // A controller refuses to act on it too.
    await expect(fleet.controller("c9").command("counter", "abort")).rejects.toMatchObject({ code: "E_FLEET_DATA" });
  }, 120_000);
});

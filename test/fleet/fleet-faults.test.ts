import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cohortPlace, type ReleaseRecord } from "modhost";
import { runCli } from "../support/cli-runner.js";
import { counterTakingHits, hitsSource, PACKAGE, POLICY, startFleet, until, type Fleet } from "./fleet-harness.js";

// Three real host processes (s1, s2 in group eu, s3 in group us), a real redis-server and a real
// npm registry. The servers drive a release whose controller lease is free for 3 s.
describe("fleet: a reshaping canary aborted, a server that stops reporting, a group release", () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet(3, {
      groups: ["eu", "eu", "us"],
      leaseMs: 3000,
      packages: [
        // Ascending: npm will not tag a lower version "latest" after a higher one.
        { version: "1.7.0", source: counterTakingHits("1.7.0") },
        { version: "1.8.0", source: counterTakingHits("1.8.0") },
        { version: "1.9.0", source: counterTakingHits("1.9.0") },
        { version: "2.0.0", source: hitsSource("2.0.0") },
      ],
    });
    await fleet.controller("setup").start({ mod: "counter", package: PACKAGE, version: "1.0.0", releaseId: "f0", group: null, policy: { ...POLICY, steps: [100] }, by: "test", now: Date.now() });
  }, 400_000);
  afterAll(async () => {
    // FLEET_DUMP=1 keeps every server's log lines in /tmp/fleet-faults-<server>.json.
    if (process.env.FLEET_DUMP) for (const s of fleet?.servers ?? []) (await import("node:fs")).writeFileSync(`/tmp/fleet-faults-${s.name}.json`, JSON.stringify(s.lines.filter((l) => l.type !== undefined), null, 1));
    await fleet?.close();
  }, 120_000);

  const versions = (): Promise<(string | undefined)[]> => Promise.all(fleet.servers.map((s) => s.version("counter")));
  const allOn = (want: readonly (string | undefined)[]) => until(`versions ${want.join(",")}`, async () => JSON.stringify(await versions()) === JSON.stringify(want));
  const settled = (releaseId: string) => until(`release ${releaseId} settled`, async () => {
    const r = await fleet.store.release("counter");
    return r?.releaseId === releaseId && (r.phase === "promoted" || r.phase === "aborted") ? r : undefined;
  }, 240_000);
  const checkNoEventLost = async (): Promise<void> => {
    for (const s of fleet.servers) expect(await s.state("counter"), s.name).toEqual({ n: fleet.emitted.get(s.name) ?? 0 });
  };
  const inCohort = (r: ReleaseRecord, server: string): boolean => r.pinned.includes(server) || cohortPlace(server, "counter", r.releaseId) < r.percent;

  it("abort of a canary with another state shape swaps its servers back to stable, the state carried through migrate, no event lost", async () => {
    // 1.7.0 (state { n }, its migrate also takes { hits } back) becomes stable everywhere.
    await fleet.controller("d1").start({ mod: "counter", package: PACKAGE, version: "1.7.0", releaseId: "f1", group: null, policy: { ...POLICY, steps: [100] }, by: "test", now: Date.now() });
    await fleet.traffic(allOn(["1.7.0", "1.7.0", "1.7.0"]));
    // 2.0.0 keeps { hits, last }: its cohort migrates into it. A long window: only the abort ends it.
    const record = await fleet.controller("d2").start({ mod: "counter", package: PACKAGE, version: "2.0.0", releaseId: "f2", group: null, policy: { ...POLICY, steps: [50, 100], intervalMs: 600_000, deadlineMs: 600_000 }, by: "test", now: Date.now() });
    const cohort = fleet.servers.filter((s) => inCohort(record, s.name));
    expect(cohort.length).toBeGreaterThan(0);
    const want = fleet.servers.map((s) => (cohort.includes(s) ? "2.0.0" : "1.7.0"));
    await fleet.traffic(allOn(want));
    await fleet.traffic(new Promise((r) => setTimeout(r, 300)));
    for (const s of cohort) expect(await s.state("counter"), s.name).toEqual({ hits: fleet.emitted.get(s.name), last: "2.0.0" });
    const aborted = await fleet.controller("d3").command("counter", "abort", "test: back to stable");
    expect(aborted).toMatchObject({ phase: "aborted", percent: 0, stable: "1.7.0" });
    await fleet.traffic(allOn(["1.7.0", "1.7.0", "1.7.0"]));
    // Back on { n }: 1.7.0's migrate turned hits into n; every answered event is in it.
    await checkNoEventLost();
    for (const s of cohort) expect(s.lines.some((l) => l.type === "swap" && l.ok === true && l.from === "2.0.0" && l.to === "1.7.0"), s.name).toBe(true);
  }, 300_000);

  it("a server that stops reporting (SIGSTOP) expires: status shows it, the window leaves it out, the servers drive the release without it", async () => {
    const record = await fleet.controller("e1").start({ mod: "counter", package: PACKAGE, version: "1.8.0", releaseId: "f3", group: null, policy: { ...POLICY, steps: [50, 100], minEvents: 10 }, by: "test", now: Date.now() });
    // The victim is a server that is not the only canary, so the canary still gets events.
    const cohort = fleet.servers.filter((s) => inCohort(record, s.name));
    const victim = fleet.servers.find((s) => !cohort.includes(s)) ?? fleet.servers.find((s) => s !== cohort[0])!;
    // Once it has reported in this release, it hangs.
    await fleet.traffic(until("the victim's counters", async () => (await fleet.store.health("counter", "f3")).has(victim.name)));
    victim.pause();
    try {
      const status = await fleet.traffic(until("the victim expired", async () => {
        const r = await runCli(["fleet", "status", "--fleet", fleet.redis.url, "--json"]);
        const doc = JSON.parse(r.stdout) as { servers: { server: string }[]; expired: { server: string }[] };
        return doc.expired.some((e) => e.server === victim.name) ? doc : undefined;
      }, 120_000));
      expect(status.servers.map((s) => s.server)).not.toContain(victim.name);
      const text = await runCli(["fleet", "status", "--fleet", fleet.redis.url]);
      expect(text.stdout).toMatch(new RegExp(`expired ${victim.name}\\s+last heartbeat \\d+ s ago: not counted as healthy`));
      // No CLI drives it: a server takes the free lease, and the windows it judges leave the victim out.
      const final = await fleet.traffic(settled("f3"));
      expect(final.phase, final.reason).toBe("promoted");
      expect(final.by).toMatch(/^controller:server\.s\d$/);
      expect(final.by).not.toBe(`controller:server.${victim.name}`);
      const audit = (await fleet.store.audit(20, "counter")).filter((a) => a.entry.releaseId === "f3");
      expect(audit.map((a) => a.entry.action)).toEqual(["start", "promote"]);
      expect((audit[1]?.entry.figures as { leftOut?: string[] }).leftOut).toContain(victim.name);
      const live = fleet.servers.filter((s) => s !== victim);
      await fleet.traffic(until("live servers on 1.8.0", async () => (await Promise.all(live.map((s) => s.version("counter")))).every((v) => v === "1.8.0")));
    } finally {
      victim.resume();
    }
    // Woken up, it beats again and converges.
    await fleet.traffic(allOn(["1.8.0", "1.8.0", "1.8.0"]));
    await checkNoEventLost();
  }, 300_000);

  it("modhost release --group eu moves only the eu servers", async () => {
    const before = await versions();
    const release = await fleet.traffic(runCli(["release", "counter@1.9.0", "--group", "eu", "--fleet", fleet.redis.url, "--steps", "50,100", "--interval", "1s", "--min-events", "10", "--json"], { timeoutMs: 240_000 }));
    expect(release.code, release.stderr).toBe(0);
    const lines = release.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; record?: ReleaseRecord });
    const final = lines.at(-1)!.record!;
    expect(final).toMatchObject({ phase: "promoted", group: "eu", canary: "1.9.0", stable: "1.8.0" });
    expect(before).toEqual(["1.8.0", "1.8.0", "1.8.0"]);
    await fleet.traffic(allOn(["1.9.0", "1.9.0", "1.8.0"]));
    // The us server never tried it, and reported nothing against it.
    const s3 = fleet.servers[2]!;
    expect(s3.name).toBe("s3");
    expect(s3.lines.some((l) => l.type === "log" && String(l.message).includes(`counter -> 1.9.0 (release ${final.releaseId},`))).toBe(false);
    const eu = fleet.servers[0]!;
    expect(eu.lines.some((l) => l.type === "log" && String(l.message).includes(`counter -> 1.9.0 (release ${final.releaseId},`))).toBe(true);
    const health = await fleet.store.health("counter", final.releaseId);
    expect(health.get("s3")?.get("1.9.0")).toBeUndefined();
    expect(["s1", "s2"].some((s) => (health.get(s)?.get("1.9.0")?.events ?? 0) > 0)).toBe(true);
    await checkNoEventLost();
  }, 300_000);
});

/**
 * Damaged and deleted files of the stateDir (issue 11, findings 3, 4 and 5): a torn tail at the
 * end of the newest segment is cut with a warning, but damage followed by valid records, missing
 * segments and missing newest files fault the mod with E_STATE_CORRUPT, keep the damaged file
 * aside and cut nothing until the operator accepts the loss. What recovery found is visible in
 * mods(), in events a listener attached right after create() receives, and in messages that name
 * the file and say what to do.
 */
import { describe, expect, it } from "vitest";
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModHost, type ModHostOptions, type RecoveryEvent, type LogEvent } from "modhost";
import { makeModsDir, simpleMod } from "../support/mod-fixture.js";
import { persistScratch } from "../support/persist-scratch.js";

const scratch = persistScratch();

const COUNTER = `export default { init: () => ({ n: 0, seen: [] as number[] }), on: {
  inc(state: { n: number; seen: number[] }, e: { i: number }) { state.n++; state.seen.push(e.i); return state.n; },
} };`;

async function open(extra: Partial<ModHostOptions> = {}): Promise<ModHost> {
  scratch.mods ??= await makeModsDir({ counter: simpleMod("counter", COUNTER) });
  scratch.stateDir ??= await mkdtemp(join(tmpdir(), "modhost-damage-"));
  const host = await ModHost.create({ modsDir: scratch.mods.dir, stateDir: scratch.stateDir, isolation: "inline", durability: "fsync", ...extra });
  scratch.hosts.push(host);
  return host;
}
async function closeAll(): Promise<void> {
  for (const h of scratch.hosts.splice(0)) await h.close();
}
const modDir = (): string => join(scratch.stateDir as string, "mods", "counter");
const files = async (prefix: string): Promise<string[]> => (await readdir(modDir())).filter((f) => f.startsWith(prefix)).sort();
async function run(host: ModHost, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) expect((await host.emit("inc", { i }))[0]).toMatchObject({ ok: true });
}
/** Opens a host and collects what a listener attached right after create() receives. */
async function openWatching(extra: Partial<ModHostOptions> = {}): Promise<{ host: ModHost; recovery: RecoveryEvent[]; logs: LogEvent[] }> {
  const host = await open(extra);
  const recovery: RecoveryEvent[] = [];
  const logs: LogEvent[] = [];
  host.on("recovery", (e) => recovery.push(e));
  host.on("log", (l) => logs.push(l));
  return { host, recovery, logs };
}

describe("damaged and deleted state files", () => {
  it("a flipped byte in the middle of a journal segment faults the mod (E_STATE_CORRUPT), keeps the file aside, cuts nothing", async () => {
    await run(await open(), 0, 330);
    await closeAll();
    const [journal] = await files("journal-");
    const path = join(modDir(), journal as string);
    const before = await readFile(path);
    const lines = before.toString().split("\n");
    // Flip one character inside the JSON of record 200 (after the checksum).
    const offset = lines.slice(0, 200).reduce((n, l) => n + l.length + 1, 0) + 20;
    const damaged = Buffer.from(before);
    damaged[offset] = (damaged[offset] as number) ^ 0x01;
    await writeFile(path, damaged);

    const { host, recovery, logs } = await openWatching();
    const info = host.mods()[0];
    expect(info).toMatchObject({ status: "faulted", error: { code: "E_STATE_CORRUPT" }, recovery: { outcome: "corrupt" } });
    expect(info?.error?.message).toContain(journal);
    expect(info?.error?.message).toContain("acceptStateLoss");
    expect(info?.recovery?.damage.join()).toMatch(/checksum.*valid records after it/);
    expect(recovery).toEqual([expect.objectContaining({ mod: "counter", kind: "startup", report: expect.objectContaining({ outcome: "corrupt" }) })]);
    expect(logs.some((l) => l.level === "error" && l.message.includes(journal as string))).toBe(true);
    // Nothing was cut; a copy is kept for inspection.
    expect((await readFile(path)).equals(damaged)).toBe(true);
    const aside = info?.recovery?.keptAside ?? [];
    expect(aside).toHaveLength(1);
    expect((await readFile(aside[0] as string)).equals(damaged)).toBe(true);
    // A reload must not start new code over the damaged state (it would overwrite it).
    await scratch.mods!.write("counter", simpleMod("counter", COUNTER.replace("state.n++", "state.n += 1"), { version: "1.1.0" }));
    expect(await host.reload("counter")).toMatchObject({ ok: false, error: { code: "E_STATE_CORRUPT" } });
    await scratch.mods!.write("counter", simpleMod("counter", COUNTER));
    expect((await readFile(path)).equals(damaged)).toBe(true);

    // The operator accepts the loss: the mod continues from the last good record.
    expect(await host.acceptStateLoss("counter")).toBeUndefined();
    expect(host.mods()[0]).toMatchObject({ status: "running", recovery: { outcome: "loss-accepted", replayed: 200 } });
    expect(await host.state("counter")).toMatchObject({ n: 200 });
    await run(host, 1000, 5);
    await closeAll();
    const again = await open();
    expect(again.mods()[0]).toMatchObject({ status: "running", recovery: { outcome: "recovered" } });
    expect(await again.state("counter")).toMatchObject({ n: 205 });
  });

  it("the option recovery.acceptLoss continues such a mod at start-up", async () => {
    await run(await open(), 0, 50);
    await closeAll();
    const [journal] = await files("journal-");
    const path = join(modDir(), journal as string);
    const text = await readFile(path, "utf8");
    const flipped = text.replace('\\"i\\":10}', '\\"i\\":99}');
    expect(flipped).not.toBe(text);
    await writeFile(path, flipped);
    const host = await open({ recovery: { acceptLoss: ["counter"] } });
    expect(host.mods()[0]).toMatchObject({ status: "running", recovery: { outcome: "loss-accepted", replayed: 10 } });
    expect(await host.state("counter")).toMatchObject({ n: 10 });
  });

  it("a torn tail is still cut, and the warning reaches a listener attached after create()", async () => {
    await run(await open(), 0, 5);
    await closeAll();
    const [journal] = await files("journal-");
    await appendFile(join(modDir(), journal as string), '0badc0de {"seq":99,"entry":{"kind":"ev');
    const { host, recovery, logs } = await openWatching();
    expect(host.mods()[0]).toMatchObject({ status: "running", recovery: { outcome: "recovered", tailCut: { file: journal }, damage: [] } });
    expect(recovery[0]?.report?.tailCut?.reason).toMatch(/torn/);
    expect(logs.some((l) => l.level === "warn" && l.message.includes("cut there"))).toBe(true);
    expect(await host.state("counter")).toMatchObject({ n: 5 });
    await expect(host.acceptStateLoss("counter")).rejects.toMatchObject({ code: "E_NOTHING_TO_ACCEPT" });
  });

  it("every checkpoint and journal deleted but meta.json kept: E_STATE_CORRUPT, not a fresh start", async () => {
    await run(await open({ checkpointEvery: 10 }), 0, 35);
    await closeAll();
    for (const f of [...(await files("checkpoint-")), ...(await files("journal-"))]) await rm(join(modDir(), f));
    const host = await open();
    expect(host.mods()[0]).toMatchObject({ status: "faulted", error: { code: "E_STATE_CORRUPT" }, recovery: { outcome: "corrupt" } });
    expect(host.mods()[0]?.error?.message).toMatch(/no checkpoint is left.*meta\.json says this mod ran/);
    await expect(host.emit("inc", { i: 0 })).resolves.toEqual([]);
    // Accepting the loss starts it with init(), as the operator chose.
    expect(await host.acceptStateLoss("counter")).toBeUndefined();
    expect(await host.state("counter")).toMatchObject({ n: 0 });
  });

  it("the newest journal segment deleted: E_STATE_CORRUPT naming it", async () => {
    await run(await open(), 0, 30);
    await closeAll();
    const journals = await files("journal-");
    await rm(join(modDir(), journals.at(-1) as string));
    const host = await open();
    expect(host.mods()[0]).toMatchObject({ status: "faulted", error: { code: "E_STATE_CORRUPT" } });
    expect(host.mods()[0]?.error?.message).toContain(`${journals.at(-1)} is missing`);
  });

  it("the newest checkpoint and its segment deleted: meta.json's high-water mark notices", async () => {
    await run(await open({ checkpointEvery: 10 }), 0, 25);
    await closeAll();
    const checkpoints = await files("checkpoint-");
    expect(checkpoints.length).toBe(2);
    const newest = checkpoints.at(-1) as string;
    await rm(join(modDir(), newest));
    await rm(join(modDir(), newest.replace("checkpoint-", "journal-").replace(".dat", ".log")));
    const host = await open();
    expect(host.mods()[0]).toMatchObject({ status: "faulted", error: { code: "E_STATE_CORRUPT" } });
    expect(host.mods()[0]?.error?.message).toMatch(/is missing.*meta\.json records/);
  });

  it("a segment in the middle of the chain deleted: E_STATE_CORRUPT", async () => {
    await run(await open({ checkpointEvery: 10 }), 0, 25);
    await closeAll();
    // Drop the newest checkpoint (recovery falls back to the one before) and the segment after that one.
    const checkpoints = await files("checkpoint-");
    await rm(join(modDir(), checkpoints.at(-1) as string));
    await rm(join(modDir(), (checkpoints[0] as string).replace("checkpoint-", "journal-").replace(".dat", ".log")));
    const host = await open();
    expect(host.mods()[0]).toMatchObject({ status: "faulted", error: { code: "E_STATE_CORRUPT" } });
  });

  it("the newest checkpoint deleted alone: recovered from the one before and both segments, nothing lost", async () => {
    await run(await open({ checkpointEvery: 10 }), 0, 25);
    await closeAll();
    await rm(join(modDir(), (await files("checkpoint-")).at(-1) as string));
    const host = await open();
    expect(host.mods()[0]).toMatchObject({ status: "running", recovery: { outcome: "recovered", damage: [] } });
    expect(await host.state("counter")).toMatchObject({ n: 25 });
  });

  it.each([
    ["not JSON", "{\"format\":1,\"live\":"],
    ["empty", ""],
    ["wrong shape", JSON.stringify({ format: 1, live: 5 })],
  ])("a damaged meta.json (%s) is recovered from with a warning, like a deleted one", async (_kind, content) => {
    await run(await open({ checkpointEvery: 10 }), 0, 25);
    await closeAll();
    await writeFile(join(modDir(), "meta.json"), content);
    const { host, logs } = await openWatching();
    expect(host.mods()[0]).toMatchObject({ status: "running", recovery: { outcome: "recovered" } });
    expect(host.mods()[0]?.recovery?.warnings.join()).toMatch(/meta\.json is damaged/);
    expect(logs.some((l) => l.message.includes("meta.json is damaged"))).toBe(true);
    expect(await host.state("counter")).toMatchObject({ n: 25 });
    // It was rewritten: the next start is clean.
    await closeAll();
    const again = await open();
    expect(again.mods()[0]?.recovery?.warnings).toEqual([]);

    await closeAll();
    await rm(join(modDir(), "meta.json"));
    const deleted = await open();
    expect(deleted.mods()[0]).toMatchObject({ status: "running" });
    expect(await deleted.state("counter")).toMatchObject({ n: 25 });
  });

  it("FORMAT.json: a damaged marker says so; only a higher number means a newer modhost", async () => {
    await closeAll();
    await open();
    await closeAll();
    await writeFile(join(scratch.stateDir as string, "FORMAT.json"), JSON.stringify({ format: "1" }));
    const stringFormat = await open().catch((err: unknown) => err as Error & { code: string });
    expect(stringFormat).toMatchObject({ code: "E_STATE_CORRUPT" });
    expect((stringFormat as Error).message).toMatch(/FORMAT\.json is damaged.*"1" \(a string\).*write \{"format":1\}/);
    expect((stringFormat as Error).message).not.toMatch(/newer/);
    await writeFile(join(scratch.stateDir as string, "FORMAT.json"), "{format");
    await expect(open()).rejects.toMatchObject({ code: "E_STATE_CORRUPT", message: expect.stringMatching(/FORMAT\.json is damaged: it is not JSON/) });
    await writeFile(join(scratch.stateDir as string, "FORMAT.json"), JSON.stringify({ format: 2 }));
    await expect(open()).rejects.toMatchObject({ code: "E_STATE_FORMAT", message: expect.stringMatching(/newer modhost \(format 2\)/) });
  });

  it("a stored version file deleted: E_STATE_CORRUPT naming the version", async () => {
    const host = await open({ typecheck: "off" });
    await run(host, 0, 3);
    await scratch.mods!.write("counter", simpleMod("counter", COUNTER.replace("state.n++", "state.n += 1"), { version: "1.1.0" }));
    expect(await host.reload("counter")).toMatchObject({ ok: true });
    await run(host, 3, 3);
    const v1 = host.mods()[0]?.hash;
    await closeAll();
    // Put the folder back to 1.0.0, so the stored 1.1.0 is the only copy of the live version.
    await scratch.mods!.write("counter", simpleMod("counter", COUNTER));
    await rm(join(scratch.stateDir as string, "versions", `${v1}.json`));
    const again = await open();
    expect(again.mods()[0]).toMatchObject({ status: "faulted", error: { code: "E_STATE_CORRUPT", message: expect.stringContaining(`version ${v1}`) } });
  });
});

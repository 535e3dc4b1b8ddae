import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { SwapReport } from "modhost";
import { applyPatch } from "./apply-patch.js";
import { ArenaServer } from "./arena-server.js";
import { ARENA_PATHS } from "./arena-paths.js";
import { BotSwarm } from "./bot-swarm.js";
import { copyFolder } from "./copy-folder.js";
import type { DemoOptions } from "./demo-options.js";
import type { LatencySummary } from "./latency-recorder.js";
import type { Story } from "./story.js";

/** One hot patch of the demo: the folder of the new version and the outcome it must have. */
interface DemoPatch {
  readonly folder: string;
  readonly title: string;
  readonly expect: { readonly ok: boolean; readonly kind: SwapReport["kind"]; readonly code?: string };
}

/** The three patches, in order: a balance change, a state-shape change with migrate, a broken one. */
export const DEMO_PATCHES: readonly DemoPatch[] = [
  { folder: "combat-1.1.0-balance", title: "balance change, no migration", expect: { ok: true, kind: "swap" } },
  { folder: "combat-2.0.0-streaks", title: "new state shape, with migrate()", expect: { ok: true, kind: "swap" } },
  { folder: "combat-2.0.1-broken", title: "broken hotfix", expect: { ok: false, kind: "rejected", code: "E_TYPE" } },
];

/** What the demo prints as its last line. */
export interface DemoResult {
  readonly bots: number;
  readonly disconnects: number;
  readonly eventsSent: number;
  readonly eventsProcessed: number;
  /** Events the host's own metrics counted (one per mod that handled an event). */
  readonly engineEvents: number;
  readonly swaps: readonly SwapReport[];
  readonly latencyMs: { readonly before: LatencySummary; readonly during: LatencySummary; readonly after: LatencySummary };
  readonly isolation: "process" | "inline";
  readonly seconds: number;
  readonly ticks: number;
  readonly lateTicks: number;
  readonly actions: { readonly sent: number; readonly received: number };
  readonly modErrors: Readonly<Record<string, number>>;
  readonly game: Readonly<Record<string, number>>;
  /** Why the run failed; empty when it passed. */
  readonly failures: readonly string[];
}

/**
 * The demo: copies the mods to a temporary folder, starts the arena on it, lets `bots` bots play,
 * hot-patches the combat mod on disk three times while they play, stops, and checks that no bot was
 * disconnected, no event was lost and each patch ended as expected. Tells the story as it goes.
 * Closes everything it opened and removes the temporary folder, whatever happens (`signal`
 * aborts the run: it rejects with the signal's reason once everything is closed).
 */
export async function runDemo(options: DemoOptions, story: Story, signal?: AbortSignal): Promise<DemoResult> {
  const wait = (seconds: number): Promise<void> => sleep(seconds * 1000, undefined, signal ? { signal } : {});
  const before = options.seconds * 0.4;
  const gap = options.seconds * 0.1;
  const after = options.seconds * 0.4;
  const work = await mkdtemp(join(tmpdir(), "modhost-arena-"));
  let server: ArenaServer | undefined;
  let swarm: BotSwarm | undefined;
  try {
    const modsDir = join(work, "mods");
    await copyFolder(ARENA_PATHS.mods, modsDir, new Set(["test", "node_modules"]));
    story.line(`copied the arena's mods to ${modsDir} (the repository's files are never touched)`);

    server = await ArenaServer.create({ modsDir, modTypes: [ARENA_PATHS.modTypes], isolation: options.isolation, seed: options.seed, log: (line) => story.detail(`! ${line}`) });
    const host = server.host;
    host.on("fault", (fault) => story.detail(`! fault in ${fault.mod} ${fault.version}: ${fault.code} ${fault.message}`));
    const mods = host.mods();
    story.line(`arena listening on ${server.url}, 20 ticks/s, ${options.isolation} isolation; mods: ${mods.map((m) => `${m.name} ${m.version} (${m.status})`).join(", ")}`);
    const broken = mods.filter((m) => m.status !== "running");
    if (broken.length > 0) throw new Error(`mods did not start: ${broken.map((m) => `${m.name}: ${m.error?.code ?? m.status} ${m.error?.message ?? ""}`).join("; ")}`);

    const warm = await host.reload("combat");
    story.line(`warmed the type checker: reloading the unchanged combat mod is a "${warm.kind}" (${Math.round(warm.totalMs)} ms)`);

    swarm = await BotSwarm.connect({ url: server.url, count: options.bots, seed: options.seed });
    swarm.start();
    story.line(`${options.bots} bots joined and are playing (moving, fighting, picking up loot, chatting)`);

    await wait(before);
    progress(story, server, "before the patches");

    server.rules.phase = "during";
    const swaps: SwapReport[] = [];
    for (const [index, patch] of DEMO_PATCHES.entries()) {
      const files = await applyPatch(join(ARENA_PATHS.patches, patch.folder), join(modsDir, "combat"));
      story.line(`patch ${index + 1}/${DEMO_PATCHES.length} (${patch.title}): wrote ${files.join(", ")} of ${patch.folder} over the live combat mod; reloading`);
      const report = await host.reload("combat");
      swaps.push(report);
      describeSwap(story, report);
      if (report.ok && report.kind === "swap" && index === 1) await describeState(story, server);
      if (index < DEMO_PATCHES.length - 1) await wait(gap);
    }
    server.rules.phase = "after";
    story.line(`patches done; combat is now ${host.mods().find((m) => m.name === "combat")?.version ?? "?"}, the bots play on`);
    await wait(after);
    progress(story, server, "after the patches");

    // The end: the bots stop sending, the server takes in everything they sent, then stops its
    // ticks and waits for every event it gave the mods to be answered.
    swarm.stop();
    const sent = swarm.sent;
    for (let waited = 0; server.stats.actionsReceived < sent && waited < 10_000; waited += 20) await sleep(20);
    await sleep(150); // two more ticks, so that the last inputs become events
    await server.quiesce();

    const counters = server.rules.counters();
    const stats = server.stats;
    const disconnects = swarm.disconnects();
    const failures: string[] = [];
    for (const d of disconnects) failures.push(`${d.bot} was disconnected (${d.disconnect.code} ${d.disconnect.reason})`);
    if (counters.sent !== counters.processed) failures.push(`${counters.sent - counters.processed} of ${counters.sent} events were not answered (${counters.lost} lost, ${counters.pending} pending)`);
    if (stats.actionsReceived !== sent) failures.push(`the bots sent ${sent} actions, the server received ${stats.actionsReceived}`);
    if (stats.errors > 0) failures.push(`${stats.errors} errors while running ticks or applying results`);
    for (const [index, patch] of DEMO_PATCHES.entries()) {
      const report = swaps[index];
      const code = report?.error?.code;
      if (report === undefined || report.ok !== patch.expect.ok || report.kind !== patch.expect.kind || (patch.expect.code !== undefined && code !== patch.expect.code)) {
        failures.push(`patch ${patch.folder} ended ${report === undefined ? "without a report" : `as ${report.kind}${code ? ` ${code}` : ""}`}, expected ${patch.expect.kind}${patch.expect.code ? ` ${patch.expect.code}` : ""}`);
      }
    }

    const engineEvents = Object.values(host.metrics().mods).reduce((sum, m) => sum + m.events, 0);
    const latency = { before: server.rules.latency.summary("before"), during: server.rules.latency.summary("during"), after: server.rules.latency.summary("after") };
    story.line(`stopped after ${stats.ticks} ticks (${stats.lateTicks} late): the bots sent ${sent} actions, the server received ${stats.actionsReceived}`);
    story.detail(`the server sent ${counters.sent} events to the mods and got ${counters.processed} answers (${counters.lost} lost${Object.keys(counters.failed).length > 0 ? `, failures: ${JSON.stringify(counters.failed)}` : ", no mod failures"}); modhost's own metrics counted ${engineEvents}`);
    story.detail(`event latency p50/p99 in ms: before ${latency.before.p50}/${latency.before.p99}, during ${latency.during.p50}/${latency.during.p99}, after ${latency.after.p50}/${latency.after.p99}`);
    story.detail(`${stats.attacks} attacks, ${stats.hits} hits (${stats.criticals} critical), ${stats.kills} kills; ${stats.lootDropped} items dropped, ${stats.pickups} picked up; ${stats.chatLines} chat lines, ${stats.chatMasked} masked; ${stats.announcements} announcements, ${stats.notices} warnings`);
    story.line(failures.length === 0 ? `PASS: no bot disconnected, no event lost, every patch ended as expected` : `FAIL: ${failures.join("; ")}`);

    return {
      bots: options.bots,
      disconnects: disconnects.length,
      eventsSent: counters.sent,
      eventsProcessed: counters.processed,
      engineEvents,
      swaps,
      latencyMs: latency,
      isolation: options.isolation,
      seconds: options.seconds,
      ticks: stats.ticks,
      lateTicks: stats.lateTicks,
      actions: { sent, received: stats.actionsReceived },
      modErrors: counters.failed,
      game: { attacks: stats.attacks, hits: stats.hits, kills: stats.kills, lootDropped: stats.lootDropped, pickups: stats.pickups, chatLines: stats.chatLines, chatMasked: stats.chatMasked, announcements: stats.announcements },
      failures,
    };
  } finally {
    let failure: unknown;
    await swarm?.close().catch((err: unknown) => (failure ??= err));
    await server?.close().catch((err: unknown) => (failure ??= err));
    await rm(work, { recursive: true, force: true }).catch((err: unknown) => (failure ??= err));
    if (failure !== undefined) throw failure;
  }
}

function progress(story: Story, server: ArenaServer, when: string): void {
  const c = server.rules.counters();
  const s = server.stats;
  story.line(`${when}: tick ${s.ticks}, ${c.sent} events sent to the mods, ${c.processed} answered; ${s.kills} kills, ${s.pickups} pickups, ${s.chatLines} chat lines (${s.chatMasked} masked)`);
  const last = server.systemLines.at(-1);
  if (last !== undefined) story.detail(`latest line from a mod: "${last}"`);
}

function describeSwap(story: Story, report: SwapReport): void {
  if (report.ok) {
    story.detail(`-> ${report.kind} ${report.from} -> ${report.to} in ${Math.round(report.totalMs)} ms; combat's events were held for ${report.pauseMs} ms`);
    story.detail(`   changed: ${report.changes.map((c) => `${c.kind} ${c.path}`).join(", ") || "nothing"}`);
  } else {
    const e = report.error;
    story.detail(`-> refused (${e?.code ?? "?"}) at ${e?.file ?? "?"}:${e?.line ?? "?"}:${(e?.column ?? -1) + 1}: ${e?.message ?? ""}`);
    story.detail(`   ${report.from} keeps serving, its state untouched`);
  }
}

async function describeState(story: Story, server: ArenaServer): Promise<void> {
  const state = (await server.host.state("combat")) as { fighters?: Record<string, unknown> };
  const fighters = Object.entries(state.fighters ?? {});
  const sample = fighters[0];
  story.detail(`   migrated state: { fighters: ${fighters.length} records }${sample ? `, e.g. ${sample[0]}: ${JSON.stringify(sample[1])}` : ""}`);
}

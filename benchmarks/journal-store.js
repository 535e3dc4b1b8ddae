// The journal alone, without isolates: N mod stores (engine/dist/persist, real files in a temp
// folder) and, under "batch", the shared journal; each tick every store appends `events` event
// records and the tick waits for all. CPU per mod-event of the process, its kernel part, the main
// thread alone, and wall time. What journaling costs before the rest of a host is around it.
//   node --no-node-snapshot benchmarks/journal-store.js <engineDir> [mods] [events] [ticks] [durability]
// engineDir: a copy of engine/ (package.json + dist/), e.g. benchmarks/.engine/<name>, or engine.
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
const [engine, modsArg = "100", eventsArg = "10", ticksArg = "300", durability = "batch"] = process.argv.slice(2);
const imp = (p) => import(pathToFileURL(join(engine, "dist", p)).href);
const { ModStore } = await imp("persist/mod-store.js");
const { GroupCommit } = await imp("persist/group-commit.js");
const { SharedJournal } = await imp("persist/shared-journal.js");
const mods = +modsArg, events = +eventsArg, ticks = +ticksArg;
const dir = await mkdtemp(join(tmpdir(), "w17j2-store-"));
const observer = { journalWrite() {}, journalSync() {} };
const group = new GroupCommit(() => {});
const shared = durability === "batch" ? await SharedJournal.open(join(dir, "wal"), { onSync() {}, onError(e) { console.error(e); } }) : undefined;
const stores = [];
for (let m = 0; m < mods; m++) {
  const s = ModStore.openSync(join(dir, "mods"), `mod-${m}`, durability, group, observer, shared);
  await s.recover({ acceptLoss: false });
  await s.checkpoint({ state: "{}", rng: [1, 2, 3, 4] }, "a".repeat(64));
  stores.push(s);
}
const seqOf = (e) => (e.kind === "event" ? e.event.seq : 0);
let seq = 0;
const tick = async () => {
  const wire = [];
  const now = Date.now();
  for (let i = 0; i < events; i++) wire.push({ seq: ++seq, name: "attack", payload: JSON.stringify({ attacker: `e${(i * 7) % 100}`, target: `e${(i * 13 + 1) % 100}`, power: 1 + (i % 3) * 0.5 }), now });
  await Promise.all(stores.map((s) => s.append(wire.map((event) => ({ kind: "event", event })), seqOf)));
};
const mainNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
for (let i = 0; i < 30; i++) await tick();
const m0 = mainNs(); const c0 = process.cpuUsage(); const t0 = performance.now();
for (let i = 0; i < ticks; i++) await tick();
const wall = performance.now() - t0; const c = process.cpuUsage(c0); const m = mainNs() - m0;
const n = ticks * mods * events;
console.log(JSON.stringify({ engine: engine.split("/").slice(-2).join("/"), mods, events, durability, cpu_us: +((c.user + c.system) / n).toFixed(3), sys_us: +(c.system / n).toFixed(3), main_us: +(m / 1000 / n).toFixed(3), wall_us: +((wall * 1000) / n).toFixed(3) }));
for (const s of stores) await s.close();
await shared?.close(true);
await rm(dir, { recursive: true, force: true });

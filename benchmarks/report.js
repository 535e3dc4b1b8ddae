// Publishes a results JSON: keeps it as docs/benchmarks-node<major>.json (one published run per
// Node major), then rewrites the generated parts of docs/benchmarks.md (the results block: one
// section per published Node, newest first), docs/benchmarks.svg and README.md's headline block
// (both from the newest Node's run). Only the text between the markers is replaced; everything
// else in both files is left as it is.
//
//   node benchmarks/report.js [results.json]      (default: benchmarks/results/latest.json)
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RUNNERS, fmt, renderChart } from "./chart.js";
import { round } from "./lib/stats.js";

const DOCS = fileURLToPath(new URL("../docs/", import.meta.url));
const DOC = join(DOCS, "benchmarks.md");
const README = fileURLToPath(new URL("../README.md", import.meta.url));

const isModhost = (r) => r === "process" || r === "inline";

/** Key builders for each kind of figure: (runner) => [median key, tail key]. */
const K = {
  /** modhost `<a>.<runner>_<unit>`, peer `<peer>.<b>` (event figures). */
  event: (a, unit, b) => (r) => (isModhost(r) ? [`${a}.${r}_${unit}`, `${a}.${r}_${unit}.p99`] : [`${r}.${b}`, `${r}.${b}.p99`]),
  /** modhost `<base>.p50_ms` (process) / `<base>.p50_ms_inline`, peer `<peer>.<base>.p50_ms`. */
  swap: (base) => (r) => (r === "process" ? [`${base}.p50_ms`, `${base}.p99_ms`] : r === "inline" ? [`${base}.p50_ms_inline`, `${base}.p99_ms_inline`] : [`${r}.${base}.p50_ms`, `${r}.${base}.p99_ms`]),
  /** modhost `<base>.p50_ms_<runner>`, peer `<peer>.<base>.p50_ms`. */
  cold: (base) => (r) => (isModhost(r) ? [`${base}.p50_ms_${r}`, `${base}.p99_ms_${r}`] : [`${r}.${base}.p50_ms`, `${r}.${base}.p99_ms`]),
  /** modhost `<base>_<runner>`, peer `<peer>.<base>` (paired median/.p99 keys). */
  suffixed: (base) => (r) => (isModhost(r) ? [`${base}_${r}`, `${base}_${r}.p99`] : [`${r}.${base}`, `${r}.${base}.p99`]),
  /** modhost `scale.<c>.<what>_<runner>`, peer `<peer>.scale.<c>.<what>`. */
  scale: (config, what) => (r) => (isModhost(r) ? [`scale.${config}.${what}_${r}`, `scale.${config}.${what}_${r}.p99`] : [`${r}.scale.${config}.${what}`, `${r}.scale.${config}.${what}.p99`]),
  /** modhost `tick.ev<E>.[emitmany.]<what>_<runner>`, peer `<peer>.tick.ev<E>.<what>` (tick.js). */
  tick: (events, what, via = "") => (r) => (isModhost(r) ? [`tick.ev${events}.${via}${what}_${r}`, `tick.ev${events}.${via}${what}_${r}.p99`] : via === "" ? [`${r}.tick.ev${events}.${what}`, `${r}.tick.ev${events}.${what}.p99`] : [undefined, undefined]),
  /** The same after the long warm-up (tick.js's steady figures): `tick.ev<E>.steady.[emitmany.]<what>_<runner>`. */
  tickSteady: (events, what, via = "") => (r) => (isModhost(r) ? [`tick.ev${events}.steady.${via}${what}_${r}`, `tick.ev${events}.steady.${via}${what}_${r}.p99`] : via === "" ? [`${r}.tick.ev${events}.steady.${what}`, `${r}.tick.ev${events}.steady.${what}.p99`] : [undefined, undefined]),
  /** Ratio keys: modhost process / inline have their own names. */
  ratio: (process, inline, peer) => (r) => (r === "process" ? [process, `${process}.p99`] : r === "inline" ? [inline, `${inline}.p99`] : [`${r}.${peer}`, `${r}.${peer}.p99`]),
};

/** The side-by-side table: sections of rows; `tail` names what the parenthesised figure is. */
const SECTIONS = [
  {
    title: "Per event (combat mod, 10k-entity state)",
    rows: [
      { label: "single emit, awaited (µs)", keys: K.event("event.single", "us", "event.single_us") },
      { label: "batched, 1000 emits (ns per event)", keys: K.event("event.batched", "ns", "event.batched_ns") },
      { label: "batched throughput (events/s; tail = 1st percentile)", keys: (r) => (isModhost(r) ? [`event.batched.eps_${r}`, `event.batched.eps_${r}.p99`] : [`${r}.event.batched.eps`, `${r}.event.batched.eps.p99`]) },
      { label: "single emit, checkpoints off (µs)", keys: (r) => (isModhost(r) ? [`event.single.nocheckpoint_${r}_us`, `event.single.nocheckpoint_${r}_us.p99`] : [undefined, undefined]) },
      { label: "batched, checkpoints off (ns per event)", keys: (r) => (isModhost(r) ? [`event.batched.nocheckpoint_${r}_ns`, `event.batched.nocheckpoint_${r}_ns.p99`] : [undefined, undefined]) },
    ],
  },
  {
    title: "Hot swap (pause: events held; peers: export, new sandbox, import)",
    rows: [
      { label: "pause, code-only change, 10k entities (ms)", keys: K.swap("swap.code10k.pause") },
      { label: "pause, code-only change, 100 entities (ms)", keys: K.swap("swap.code100.pause") },
      { label: "pause, shape change + migrate(), 10k entities (ms)", keys: K.swap("swap.migrate10k") },
      { label: "pause, shape change + migrate(), 100 entities (ms)", keys: K.swap("swap.migrate100") },
      { label: "whole swap incl. compile, 10k entities (ms)", keys: K.swap("swap.code10k.total") },
      { label: "save → first answer by new code, 100 entities (ms)", keys: K.swap("swap.e2e") },
      { label: "save → first answer by new code, 10k entities (ms)", keys: K.swap("swap.e2e10k") },
      { label: "same, with type check (ms)", keys: (r) => (isModhost(r) ? K.swap("swap.e2e_typecheck")(r) : [undefined, undefined]) },
    ],
  },
  {
    title: "Cold start (create → first event answered)",
    rows: [
      { label: "1 small mod, warm process (ms)", keys: K.cold("coldstart.cached1") },
      { label: "10 small mods, warm process (ms)", keys: K.cold("coldstart.cached10") },
      { label: "10 small mods, fresh process (ms)", keys: K.cold("coldstart.uncached10") },
      { label: "1 combat mod, 10k entities, warm process (ms)", keys: K.cold("coldstart.combat10k") },
      { label: "import of the library, fresh process (ms)", keys: (r) => (isModhost(r) ? [`coldstart.import_ms_${r}`, `coldstart.import_ms_${r}.p99`] : [`${r}.coldstart.import_ms`, `${r}.coldstart.import_ms.p99`]) },
    ],
  },
  {
    title: "Scale (combat mods; every event answered by every mod)",
    rows: [
      { label: "1 mod (events/s)", keys: K.scale("mods1", "eps") },
      { label: "10 mods (events/s)", keys: K.scale("mods10", "eps") },
      { label: "100 mods (events/s)", keys: K.scale("mods100", "eps") },
      { label: "1 mod, 1k entities (events/s)", keys: K.scale("state1k", "eps") },
      { label: "1 mod, 10k entities (events/s)", keys: K.scale("state10k", "eps") },
      { label: "memory, 1 mod of 100 entities (MB)", keys: K.scale("mods1", "rss_mb") },
      { label: "memory, 10 mods (MB)", keys: K.scale("mods10", "rss_mb") },
      { label: "memory, 100 mods (MB)", keys: K.scale("mods100", "rss_mb") },
      { label: "memory, 1 mod of 10k entities (MB)", keys: K.scale("state10k", "rss_mb") },
    ],
  },
  {
    title: "Tick: 100 combat mods, every event answered by every mod (CPU: this process + sandbox process, per mod-event)",
    rows: [
      { label: "10 events per tick (events/s)", keys: K.tick(10, "eps") },
      { label: "10 events per tick (CPU µs per mod-event)", keys: K.tick(10, "cpu_us") },
      { label: "1000 events per tick (events/s)", keys: K.tick(1000, "eps") },
      { label: "1000 events per tick (CPU µs per mod-event)", keys: K.tick(1000, "cpu_us") },
      // The tick API against the naive loader's own one-call-per-mod batch (its only way).
      { label: "10 events per tick, host.emitMany (events/s)", keys: K.tick(10, "eps", "emitmany."), naive: K.tick(10, "eps")("naive_ivm") },
      { label: "10 events per tick, host.emitMany (CPU µs per mod-event)", keys: K.tick(10, "cpu_us", "emitmany."), naive: K.tick(10, "cpu_us")("naive_ivm") },
      { label: "1000 events per tick, host.emitMany (events/s)", keys: K.tick(1000, "eps", "emitmany."), naive: K.tick(1000, "eps")("naive_ivm") },
      { label: "1000 events per tick, host.emitMany (CPU µs per mod-event)", keys: K.tick(1000, "cpu_us", "emitmany."), naive: K.tick(1000, "cpu_us")("naive_ivm") },
      // After every runner's isolates were warm (V8's optimized code in all 100 of them).
      { label: "10 events per tick, warm (events/s)", keys: K.tickSteady(10, "eps") },
      { label: "10 events per tick, warm (CPU µs per mod-event)", keys: K.tickSteady(10, "cpu_us") },
      { label: "10 events per tick, warm, host.emitMany (events/s)", keys: K.tickSteady(10, "eps", "emitmany."), naive: K.tickSteady(10, "eps")("naive_ivm") },
      { label: "10 events per tick, warm, host.emitMany (CPU µs per mod-event)", keys: K.tickSteady(10, "cpu_us", "emitmany."), naive: K.tickSteady(10, "cpu_us")("naive_ivm") },
    ],
  },
  {
    title: "Memory",
    rows: [{ label: "per idle mod (MB, slope over 1/10/50 mods)", keys: K.suffixed("memory.idle_mod_mb") }],
  },
];

/** Ratios to the native floor measured in the same run (median / native median). */
const RATIOS = [
  { label: "single emit", keys: K.ratio("event.single.ratio_native_process", "event.single.ratio_native", "event.single.ratio_native") },
  { label: "batched emit", keys: K.ratio("event.batched.ratio_native_process", "event.batched.ratio_native", "event.batched.ratio_native") },
  { label: "swap pause, code-only, 10k", keys: K.ratio("swap.pause.ratio_native", "swap.pause.ratio_native_inline", "swap.pause.ratio_native") },
  { label: "swap pause, migration, 10k", keys: K.ratio("swap.migrate10k.ratio_native", "swap.migrate10k.ratio_native_inline", "swap.migrate10k.ratio_native") },
  { label: "save → first answer", keys: K.ratio("swap.e2e.ratio_native", "swap.e2e.ratio_native_inline", "swap.e2e.ratio_native") },
  { label: "cold start, 10 small mods, warm", keys: K.ratio("coldstart.cached10.ratio_native_process", "coldstart.cached10.ratio_native_inline", "coldstart.cached10.ratio_native") },
  { label: "cold start, 10 small mods, fresh process", keys: K.ratio("coldstart.uncached10.ratio_native_process", "coldstart.uncached10.ratio_native_inline", "coldstart.uncached10.ratio_native") },
  { label: "cold start, 10k-entity mod", keys: K.ratio("coldstart.combat10k.ratio_native_process", "coldstart.combat10k.ratio_native_inline", "coldstart.combat10k.ratio_native") },
  { label: "throughput, 100 mods", keys: K.ratio("scale.mods100.ratio_native_process", "scale.mods100.ratio_native_inline", "scale.mods100.ratio_native") },
];

/**
 * `<modhost key>.ratio_naive` for every modhost figure of the side-by-side table that has a naive
 * isolated-vm loader figure in the same run: modhost's median over the naive loader's median (for
 * events/s above 1 is ahead of it; for times and CPU below 1 is). Returns the new keys.
 */
export function naiveRatios(metrics) {
  const out = {};
  for (const section of SECTIONS) {
    for (const row of section.rows) {
      const naive = num(metrics, (row.naive ?? row.keys("naive_ivm"))[0]);
      if (naive === undefined || naive === 0) continue;
      for (const runner of ["process", "inline"]) {
        const key = row.keys(runner)[0];
        const mine = num(metrics, key);
        if (mine !== undefined) out[`${key}.ratio_naive`] = round(mine / naive);
      }
    }
  }
  return out;
}

/** The ratio_naive table (see naiveRatios): one row per figure that has one. */
function naiveRatioBlock(metrics) {
  const lines = ["| figure | modhost (process) | modhost (inline) |", "|---|---:|---:|"];
  for (const section of SECTIONS) {
    for (const row of section.rows) {
      const cells = ["process", "inline"].map((r) => num(metrics, `${row.keys(r)[0]}.ratio_naive`));
      if (cells.every((c) => c === undefined)) continue;
      lines.push(`| ${row.label} | ${cells.map((c) => (c === undefined ? "—" : fmt(c))).join(" | ")} |`);
    }
  }
  return lines.length > 2 ? lines.join("\n") : undefined;
}

/** modhost-only figures: journal ticks, crash recovery, serving under CPU load. */
function modhostOnlyBlock(metrics) {
  const out = [];
  const g = (key) => num(metrics, key);
  const mt = (key) => (g(key) === undefined ? "—" : g(`${key}.p99`) === undefined ? fmt(g(key)) : `${fmt(g(key))} (${fmt(g(`${key}.p99`))})`);
  if (g("persist.tick.mods1.us_memory") !== undefined) {
    out.push("**With a stateDir** (process isolation, a 10-event tick through an emit loop; per mod-event, µs: wall / CPU of this process + the sandbox process; added: over no stateDir, medians):");
    out.push("");
    out.push("| mods | no stateDir | durability batch | durability fsync | added, batch | added, fsync |");
    out.push("|---|---:|---:|---:|---:|---:|");
    for (const n of [1, 100]) {
      const b = `persist.tick.mods${n}`;
      const pair = (a, c) => `${g(a) === undefined ? "—" : fmt(g(a))} / ${g(c) === undefined ? "—" : fmt(g(c))}`;
      out.push(`| ${n} | ${pair(`${b}.us_memory`, `${b}.cpu_us_memory`)} | ${pair(`${b}.us_batch`, `${b}.cpu_us_batch`)} | ${pair(`${b}.us_fsync`, `${b}.cpu_us_fsync`)} | ${pair(`${b}.added_us_batch`, `${b}.added_cpu_us_batch`)} | ${pair(`${b}.added_us_fsync`, `${b}.added_cpu_us_fsync`)} |`);
    }
    out.push("");
  }
  if (g("recovery.mods1.crash_to_answer_ms") !== undefined) {
    out.push(`**Crash to every mod answering** (SIGKILL of the sandbox process until every idle mod answered an event; ms, median (p99)): 1 mod ${mt("recovery.mods1.crash_to_answer_ms")}, 10 mods ${mt("recovery.mods10.crash_to_answer_ms")}, 100 mods ${mt("recovery.mods100.crash_to_answer_ms")}${g("recovery.mods1.crash_to_answer_cpu_ms") !== undefined ? `; CPU (host + new sandbox process, ms): 1 mod ${mt("recovery.mods1.crash_to_answer_cpu_ms")}, 10 mods ${mt("recovery.mods10.crash_to_answer_cpu_ms")}, 100 mods ${mt("recovery.mods100.crash_to_answer_cpu_ms")}` : ""}.`);
    out.push("");
  }
  // pool.js: the largest pool size it measured (one sandbox process per core) against one.
  const pool = Object.keys(metrics)
    .map((k) => /^pool\.mods(\d+)\.eps_pool(\d+)$/.exec(k))
    .filter((m) => m !== null)
    .map((m) => ({ mods: Number(m[1]), size: Number(m[2]) }))
    .sort((a, b) => b.size - a.size)[0];
  if (pool !== undefined && pool.size > 1) {
    const b = `pool.mods${pool.mods}`;
    const ratio = (key) => fmt(g(`${key}.ratio_naive`) ?? Number.NaN);
    out.push(
      `**A pool of sandbox processes** (process isolation, \`sandboxProcesses: ${pool.size}\`, one per core, against one; ${pool.mods} combat mods, 10-event ticks through host.emitMany after a warm-up, in processes holding only these hosts and the naive loader; events/s median (1st percentile), CPU median (p99)): ${mt(`${b}.eps_pool${pool.size}`)} events/s, ${ratio(`${b}.eps_pool${pool.size}`)}x the naive loader (one sandbox process: ${mt(`${b}.eps_pool1`)}, ${ratio(`${b}.eps_pool1`)}x); CPU ${mt(`${b}.cpu_us_pool${pool.size}`)} µs per mod-event (one: ${mt(`${b}.cpu_us_pool1`)}; the naive loader ${mt(`${b}.cpu_us_naive_ivm`)}).`,
    );
    out.push("");
  }
  if (g("naive_ivm_process.tick.ev1000.cpu_us") !== undefined) {
    const floor = (events, phase, label) => {
      const k = (what) => `naive_ivm_process.tick.ev${events}.${phase}${what}`;
      const naive = g(`naive_ivm.tick.ev${events}.${phase}cpu_us`);
      const mine = `tick.ev${events}.${phase}emitmany.cpu_us_process`;
      return `${label}: ${mt(k("cpu_us"))} µs (${naive === undefined ? "—" : fmt(g(k("cpu_us")) / naive)}x the naive loader in one process), modhost (process, host.emitMany) ${fmt(g(`${mine}.ratio_naive_process`) ?? Number.NaN)}x that`;
    };
    out.push(
      `**The floor of process isolation** (the tick benchmark's mods; the naive loader behind a process boundary, one frame each way per tick, \`benchmarks/peers/naive-ivm-process.js\`; CPU per mod-event of both processes, median (p99)): ${floor(1000, "", "1000-event ticks")}; ${floor(10, "steady.", "10-event ticks, warm")}.`,
    );
    out.push("");
  }
  if (g("load.process.ticks") !== undefined) {
    out.push(`**Under CPU load** (another process spinning on every core, ${fmt(g("load.burner_cores") ?? Number.NaN)} cores' worth of CPU while it ran; a steady stream of 10-event ticks through 10 combat mods, default time limits):`);
    out.push("");
    out.push("| | sandbox restarts | timeouts | failed results | mods not running | ticks | tick (ms) |");
    out.push("|---|---:|---:|---:|---:|---:|---:|");
    for (const iso of ["process", "inline"]) {
      const b = `load.${iso}`;
      const count = (key) => (g(key) === undefined ? "—" : String(g(key)));
      out.push(`| modhost (${iso}) | ${iso === "process" ? count(`${b}.sandbox_restarts`) : "—"} | ${count(`${b}.timeouts`)} | ${count(`${b}.failed_events`)} | ${count(`${b}.mods_not_running`)} | ${count(`${b}.ticks`)} | ${mt(`${b}.tick_ms`)} |`);
    }
    out.push("");
  }
  return out.length > 0 ? out.join("\n").trimEnd() : undefined;
}

function num(metrics, key) {
  const v = key === undefined ? undefined : metrics[key];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function cell(metrics, keys, runner, { tail = true } = {}) {
  const [m, p] = keys(runner);
  const median = num(metrics, m);
  if (median === undefined) return "—";
  const p99 = num(metrics, p);
  return tail && p99 !== undefined ? `${fmt(median)} (${fmt(p99)})` : fmt(median);
}

/** The generated results of one run; `file` is the name its JSON is published under in docs/. */
export function resultsBlock(results, file = "benchmarks.json") {
  // Runs published before run.js wrote ratio_naive keys get them here, from their own figures.
  const metrics = { ...naiveRatios(results.metrics), ...results.metrics };
  const runners = RUNNERS.filter((r) => isModhost(r.id) || r.id in (results.peers ?? {}));
  const head = `| | ${runners.map((r) => r.label).join(" | ")} |\n|---|${runners.map(() => "---:").join("|")}|`;
  const out = [];
  const m = results.machine ?? {};
  const minutes = (results.durationMs?.total ?? 0) / 60_000;
  out.push(`Run of ${results.date}${results.quick ? " (**--quick smoke run: these figures mean nothing**)" : ""}, ${minutes.toFixed(1)} minutes: ${m.cpuModel} × ${m.cpuCount} (${m.availableParallelism} usable), ${Math.round((m.memoryTotalMb ?? 0) / 1024)} GB, ${m.platform}, Node ${m.node}, isolated-vm ${m.isolatedVm}, flags \`${(m.execArgv ?? []).join(" ")}\`. Load average (1/5/15 min) ${(m.loadavgStart ?? []).join(" / ")} at the start and ${(m.loadavgEnd ?? []).join(" / ")} at the end: the machine is shared, so read the tails with that in mind.`);
  const e = results.engine;
  if (e) {
    const dirty = e.uncommitted.length > 0 ? `; engine files then modified and not committed: ${e.uncommitted.map((f) => `\`${f}\``).join(", ")}` : "";
    out.push(`\nEngine measured: the build in \`engine/dist\` (sha256 \`${e.distSha256}\`${e.snapshot ? ", copied at the start of the run" : ""}) of the working tree at commit \`${e.commit}\`${dirty}. The whole JSON of this run: [${file}](${file}).`);
  }
  out.push("");
  out.push("Median (p99) of every figure; for events/s the tail in parentheses is the 1st percentile. `—`: does not apply.");
  out.push("");
  out.push(head);
  for (const section of SECTIONS) {
    // A row no runner has a figure for was not measured in this run (e.g. a run older than it).
    const rows = section.rows.map((row) => runners.map((r) => cell(metrics, row.keys, r.id))).map((cells, i) => ({ label: section.rows[i].label, cells })).filter((row) => row.cells.some((c) => c !== "—"));
    if (rows.length === 0) continue;
    out.push(`| **${section.title}** |${runners.map(() => "").join("|")}|`);
    for (const row of rows) out.push(`| ${row.label} | ${row.cells.join(" | ")} |`);
  }
  out.push("");
  out.push("**× native**: each figure over the native floor's median from the same benchmark (throughput: native events/s over the runner's). 1 is the floor; the tail ratio in parentheses is p99 over the native median.");
  out.push("");
  out.push(head);
  for (const row of RATIOS) out.push(`| ${row.label} | ${runners.map((r) => (r.id === "native" ? "1" : cell(metrics, row.keys, r.id))).join(" | ")} |`);
  const naive = naiveRatioBlock(metrics);
  if (naive !== undefined) {
    out.push("");
    out.push("**× naive isolated-vm loader** (`<key>.ratio_naive` in the JSON): modhost's median over the naive loader's median in the same run. For events/s above 1 means modhost is ahead; for times, CPU and memory below 1 does.");
    out.push("");
    out.push(naive);
  }
  const only = modhostOnlyBlock(metrics);
  if (only !== undefined) {
    out.push("");
    out.push(only);
  }
  const failures = Object.entries(results.failures ?? {});
  out.push("");
  if (failures.length === 0) out.push("Nothing failed during the run (no event answered `ok: false`, no load or swap retried).");
  else {
    out.push("What failed during the run without stopping it (counts; the samples concerned are left out):");
    out.push("");
    for (const [kind, count] of failures) out.push(`- \`${kind}\`: ${count}`);
  }
  return out.join("\n");
}

/** The generated headline block of README.md's Benchmarks section. */
export function readmeBlock(results) {
  const metrics = results.metrics;
  const g = (k) => num(metrics, k);
  const runners = [
    ["modhost, process isolation", "process"],
    ["modhost, inline", "inline"],
    ["isolated-vm, naive loader", "naive_ivm"],
    ["quickjs-emscripten", "quickjs"],
    ["node:vm (no security boundary)", "nodevm"],
    ["native host code (floor)", "native"],
  ].filter(([, r]) => isModhost(r) || r in (results.peers ?? {}));
  const lines = [
    "| same combat mod, 10k-entity state | single emit (µs) | batched (ns/event) | swap pause, 10k (ms) | migration pause, 10k (ms) | idle mod (MB) |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const [label, r] of runners) {
    const single = K.event("event.single", "us", "event.single_us")(r)[0];
    const batched = K.event("event.batched", "ns", "event.batched_ns")(r)[0];
    const pause = K.swap("swap.code10k.pause")(r)[0];
    const migrate = K.swap("swap.migrate10k")(r)[0];
    const idle = K.suffixed("memory.idle_mod_mb")(r)[0];
    lines.push(`| ${label} | ${fmt(g(single))} | ${fmt(g(batched))} | ${fmt(g(pause))} | ${fmt(g(migrate))} | ${fmt(g(idle))} |`);
  }
  const m = results.machine ?? {};
  lines.push("");
  lines.push(`Medians from \`npm run bench\` on ${results.date.slice(0, 10)} (${m.cpuModel} × ${m.cpuCount}, Node ${m.node}, a shared machine). p99s, cold starts, scale and the ratios to the native floor: [docs/benchmarks.md](docs/benchmarks.md).`);
  return lines.join("\n");
}

/**
 * Publishes `results` as its Node major's run (replacing that major's earlier one) and rewrites
 * docs/benchmarks.md, docs/benchmarks.svg and README.md from every published run. Returns the
 * files written.
 */
export function publish(results) {
  const major = /^v?(\d+)\./.exec(String(results.machine?.node ?? ""))?.[1];
  if (major === undefined) throw new Error(`the results name no Node version (machine.node = ${JSON.stringify(results.machine?.node)})`);
  const own = `benchmarks-node${major}.json`;
  writeFileSync(join(DOCS, own), `${JSON.stringify(results, null, 2)}\n`);
  const runs = readdirSync(DOCS)
    .map((name) => /^benchmarks-node(\d+)\.json$/.exec(name))
    .filter((match) => match !== null)
    .map((match) => ({ major: Number(match[1]), file: match[0], results: JSON.parse(readFileSync(join(DOCS, match[0]), "utf8")) }))
    .sort((a, b) => b.major - a.major);
  const sections = runs.map((run) => {
    const m = run.results.machine ?? {};
    return `### Node ${run.major} (${m.node}${m.v8 ? `, V8 ${m.v8}` : ""}, isolated-vm ${m.isolatedVm})\n\n${resultsBlock(run.results, run.file)}`;
  });
  const newest = runs[0].results;
  const intro = `One published run per Node major, newest first; the chart and README's headline show Node ${runs[0].major}. Runs on different Node versions were made at different times on a shared machine: compare within a section, and across sections only with the load averages in mind.`;
  writeFileSync(DOC, replaceBlock(readFileSync(DOC, "utf8"), "bench:results", `${intro}\n\n${sections.join("\n\n")}`));
  writeFileSync(join(DOCS, "benchmarks.svg"), renderChart(newest));
  writeFileSync(README, replaceBlock(readFileSync(README, "utf8"), "bench:readme", readmeBlock(newest)));
  return [join(DOCS, own), DOC, join(DOCS, "benchmarks.svg"), README];
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in `text`. */
export function replaceBlock(text, name, body) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`no ${start} ... ${end} block`);
  return `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const input = process.argv[2] ?? fileURLToPath(new URL("./results/latest.json", import.meta.url));
  const results = JSON.parse(readFileSync(input, "utf8"));
  if (results.quick && !process.argv.includes("--allow-quick")) throw new Error("refusing to publish a --quick run (its figures mean nothing); pass --allow-quick to try the layout");
  process.stderr.write(`[report] wrote ${publish(results).join(", ")}\n`);
}

/**
 * Smoke test of the benchmark suite: `benchmarks/run.js --quick` runs end to end in a child
 * process and reports every metric as a finite number, for modhost and for every peer it is
 * compared with; `benchmarks/chart.js` draws an SVG from that JSON. It never asserts on a
 * measured value: timings depend on the machine and its load.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const RUN = fileURLToPath(new URL("../../benchmarks/run.js", import.meta.url));
const CHART = fileURLToPath(new URL("../../benchmarks/chart.js", import.meta.url));
const REPORT = new URL("../../benchmarks/report.js", import.meta.url).href;
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Keys whose median is reported as `<key>` and p99 as `<key>.p99`. */
const PAIRED_KEYS = [
  "coldstart.import_ms_process",
  "coldstart.import_ms_inline",
  "coldstart.per_mod_ms_process",
  "coldstart.per_mod_ms_inline",
  "event.single.inline_us",
  "event.single.process_us",
  "event.single.noop_inline_us",
  "event.single.noop_process_us",
  "event.single.nocheckpoint_inline_us",
  "event.single.nocheckpoint_process_us",
  "event.batched.inline_ns",
  "event.batched.process_ns",
  "event.batched.eps_inline",
  "event.batched.eps_process",
  "event.batched.noop_inline_ns",
  "event.batched.noop_process_ns",
  "event.batched.nocheckpoint_inline_ns",
  "event.batched.nocheckpoint_process_ns",
  "event.batched.ratio_native",
  "event.batched.ratio_native_process",
  "event.native_ns",
  "event.breakdown.ivm_call_us",
  "event.breakdown.ivm_call_nocopy_us",
  "event.breakdown.ivm_call_notimeout_us",
  "event.breakdown.ivm_call_bare_us",
  "event.breakdown.ipc_roundtrip_us",
  "memory.idle_mod_mb",
  "memory.idle_mod_mb_process",
  "memory.idle_mod_mb_inline",
  "memory.idle_mod_host_heap_mb_inline",
  "memory.breakdown.bare_isolate_mb",
  "memory.sandbox_rss_mb.mods1",
  "memory.sandbox_rss_mb.mods10",
  "memory.sandbox_rss_mb.mods50",
  "memory.host_rss_growth_mb_inline.mods1",
  "memory.host_rss_growth_mb_inline.mods10",
  "memory.host_rss_growth_mb_inline.mods50",
];

/** CPU per event, by side: `event.cpu.{single,batched}.<variant><isolation>_<side>_{us,ns}`. */
const CPU_KEYS = ["", "noop_", "nocheckpoint_"].flatMap((variant) =>
  [
    ["inline", "host"],
    ["process", "host"],
    ["process", "sandbox"],
  ].flatMap(([isolation, side]) => [`event.cpu.single.${variant}${isolation}_${side}_us`, `event.cpu.batched.${variant}${isolation}_${side}_ns`]),
);

/** Cold-start figures: `<prefix>.p50_ms<suffix>` and `<prefix>.p99_ms<suffix>`. */
const COLD_START_KEYS = ["coldstart.cached10", "coldstart.cached1", "coldstart.uncached10", "coldstart.diskcached10", "coldstart.empty"].flatMap((prefix) =>
  ["", "_process", "_inline"].flatMap((suffix) => [`${prefix}.p50_ms${suffix}`, `${prefix}.p99_ms${suffix}`]),
);

/** The keys the issue names: modhost's headline figures. */
const HEADLINE_KEYS = [
  "swap.pause.p50_ms",
  "swap.pause.p99_ms",
  "swap.e2e.p50_ms",
  "swap.migrate10k.p50_ms",
  "coldstart.cached10.p50_ms",
  "event.batched.ratio_native",
  "event.single.inline_us",
  "event.single.process_us",
  "memory.idle_mod_mb",
  "native.event_ns",
];

/** Swap figures of modhost (swap.js): `<base>.p50_ms<suffix>` and `.p99_ms<suffix>`. */
const SWAP_KEYS = ["swap.code100.pause", "swap.code100.total", "swap.code10k.pause", "swap.code10k.total", "swap.migrate10k", "swap.migrate100", "swap.e2e", "swap.e2e10k", "swap.e2e_typecheck", "swap.pause"].flatMap((base) =>
  ["", "_inline"].flatMap((suffix) => [`${base}.p50_ms${suffix}`, `${base}.p99_ms${suffix}`]),
);

/** Durability figures (durability.js). */
const PERSIST_KEYS = [
  "persist.checkpoint10k_ms",
  "persist.journal.eps_memory",
  "persist.journal.single_us_memory",
  ...["fsync", "batch", "none"].flatMap((mode) => [`persist.journal.eps_${mode}`, `persist.journal.single_us_${mode}`, `persist.journal.single_us_${mode}.p99`, `persist.journal.added_us_${mode}`]),
  "persist.recovery_ms_1000",
];

/** Tick figures (tick.js): 100 mods, 10 and 1000 events per tick, every runner, and the naive loader behind a process boundary. */
const TICK_KEYS = [10, 1000].flatMap((events) => [
  ...["process", "inline"].flatMap((iso) => [`tick.ev${events}.eps_${iso}`, `tick.ev${events}.cpu_us_${iso}`]),
  ...["naive_ivm", "quickjs", "nodevm", "native", "naive_ivm_process"].flatMap((peer) => [`${peer}.tick.ev${events}.eps`, `${peer}.tick.ev${events}.cpu_us`]),
]);

/** The tick API's figures, present only where the engine has host.emitMany (params["tick.emitMany"]). */
const EMIT_MANY_KEYS = [10, 1000].flatMap((events) => ["process", "inline"].flatMap((iso) => [`tick.ev${events}.emitmany.eps_${iso}`, `tick.ev${events}.emitmany.cpu_us_${iso}`]));

/** Journal ticks with a stateDir (durability.js), crash recovery (recovery.js), a pool of sandbox processes (pool.js; --quick: 10 mods), serving under CPU load (load.js). */
const MODHOST_ONLY_KEYS = [
  ...[1, 100].flatMap((n) => [
    ...["memory", "batch", "fsync"].flatMap((mode) => [`persist.tick.mods${n}.us_${mode}`, `persist.tick.mods${n}.us_${mode}.p99`, `persist.tick.mods${n}.cpu_us_${mode}`, `persist.tick.mods${n}.cpu_us_${mode}.p99`]),
    ...["batch", "fsync"].flatMap((mode) => [`persist.tick.mods${n}.added_us_${mode}`, `persist.tick.mods${n}.added_cpu_us_${mode}`]),
  ]),
  ...[1, 10, 100].flatMap((n) => [`recovery.mods${n}.crash_to_answer_ms`, `recovery.mods${n}.crash_to_answer_ms.p99`]),
  ...["process", "inline"].flatMap((iso) => ["sandbox_restarts", "timeouts", "failed_events", "mods_not_running", "ticks", "tick_ms", "tick_ms.p99"].map((what) => `load.${iso}.${what}`)),
  "load.burner_cores",
  ...["eps", "cpu_us"].flatMap((what) => [`pool.mods10.${what}_pool1`, `pool.mods10.${what}_pool1.p99`, `pool.mods10.${what}_pool1.ratio_naive`, `pool.mods10.${what}_naive_ivm`]),
];

/** `<key>.ratio_naive` of modhost figures with a naive loader counterpart (a sample of them). */
const RATIO_NAIVE_KEYS = [
  "event.single.process_us",
  "event.batched.inline_ns",
  "swap.code10k.pause.p50_ms",
  "swap.migrate10k.p50_ms_inline",
  "coldstart.cached10.p50_ms_process",
  "scale.mods100.eps_process",
  "scale.mods100.eps_inline",
  "memory.idle_mod_mb_inline",
  ...[10, 1000].flatMap((events) => ["eps", "cpu_us"].flatMap((what) => [`tick.ev${events}.${what}_process`, `tick.ev${events}.${what}_inline`])),
].map((key) => `${key}.ratio_naive`);

const PEERS = ["naive_ivm", "quickjs", "nodevm", "native"];
const SCALE_CONFIGS = ["mods1", "mods10", "mods100", "state1k", "state10k"];

/** What every peer reports under `<peer>.` (median keys; `.p99` checked alongside). */
const PEER_PAIRED = [
  "event.single_us",
  "event.batched_ns",
  "event.batched.eps",
  "event.batched.ratio_native",
  "event.single.ratio_native",
  "memory.idle_mod_mb",
  "coldstart.import_ms",
  ...SCALE_CONFIGS.flatMap((c) => [`scale.${c}.eps`, `scale.${c}.rss_mb`, `scale.${c}.ratio_native`]),
  "swap.pause.ratio_native",
  "swap.migrate10k.ratio_native",
  "swap.e2e.ratio_native",
  ...["cached10", "cached1", "uncached10", "combat10k"].map((c) => `coldstart.${c}.ratio_native`),
];
const PEER_MS = ["swap.pause", "swap.e2e", "swap.e2e10k", "swap.migrate10k", "swap.migrate100", "swap.code100.pause", "swap.code100.total", "swap.code10k.pause", "swap.code10k.total", "coldstart.cached10", "coldstart.cached1", "coldstart.uncached10", "coldstart.combat10k"];
const PEER_KEYS = PEERS.flatMap((peer) => [
  ...PEER_PAIRED.flatMap((key) => [`${peer}.${key}`, `${peer}.${key}.p99`]),
  ...PEER_MS.flatMap((base) => [`${peer}.${base}.p50_ms`, `${peer}.${base}.p99_ms`]),
]);

/** modhost's side of the comparison: ratios to the native floor, scale, the combat cold start. */
const COMPARISON_KEYS = [
  ...["event.single.ratio_native", "event.single.ratio_native_process", "event.batched.ratio_native_process"].flatMap((key) => [key, `${key}.p99`]),
  ...["", "_inline"].flatMap((suffix) => ["swap.pause", "swap.migrate10k", "swap.e2e"].flatMap((base) => [`${base}.ratio_native${suffix}`, `${base}.ratio_native${suffix}.p99`])),
  ...["process", "inline"].flatMap((iso) => [
    `coldstart.combat10k.p50_ms_${iso}`,
    `coldstart.combat10k.p99_ms_${iso}`,
    ...["cached10", "cached1", "uncached10", "combat10k"].flatMap((c) => [`coldstart.${c}.ratio_native_${iso}`, `coldstart.${c}.ratio_native_${iso}.p99`]),
    ...SCALE_CONFIGS.flatMap((c) => ["eps", "rss_mb", "ratio_native"].flatMap((what) => [`scale.${c}.${what}_${iso}`, `scale.${c}.${what}_${iso}.p99`])),
  ]),
  "nodevm.swap.samectx.pause.p50_ms",
  "nodevm.swap.samectx.pause.p99_ms",
];

const EXPECTED_KEYS = [
  ...[...PAIRED_KEYS, ...CPU_KEYS].flatMap((key) => [key, `${key}.p99`]),
  ...COLD_START_KEYS,
  ...HEADLINE_KEYS,
  ...SWAP_KEYS,
  ...PERSIST_KEYS,
  ...PEER_KEYS,
  ...COMPARISON_KEYS,
  ...TICK_KEYS.flatMap((key) => [key, `${key}.p99`]),
  ...MODHOST_ONLY_KEYS,
  ...RATIO_NAIVE_KEYS,
];

interface BenchResult {
  date: string;
  quick: boolean;
  machine: Record<string, unknown>;
  engine: Record<string, unknown>;
  params: Record<string, unknown>;
  peers: Record<string, string>;
  metrics: Record<string, unknown>;
  failures: Record<string, number>;
  targets: Record<string, { met: boolean }>;
}

describe("benchmarks/run.js --quick", () => {
  let dir: string;
  let stdout: string;
  let fromFile: BenchResult;
  let out: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "modhost-bench-test-"));
    out = join(dir, "result.json");
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const result = await promisify(execFile)(process.execPath, ["--no-node-snapshot", RUN, "--quick", "--out", out], {
      cwd: ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 600_000,
    });
    stdout = result.stdout;
    fromFile = JSON.parse(await readFile(out, "utf8")) as BenchResult;
  }, 610_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints exactly one JSON object, the same one it writes to --out", () => {
    expect(JSON.parse(stdout)).toEqual(fromFile);
  });

  it("describes the run and the machine", () => {
    expect(fromFile.quick).toBe(true);
    expect(Number.isNaN(Date.parse(fromFile.date))).toBe(false);
    expect(fromFile.machine).toMatchObject({
      cpuModel: expect.any(String),
      cpuCount: expect.any(Number),
      memoryTotalMb: expect.any(Number),
      node: process.version,
      v8: process.versions.v8,
      nodeAbi: process.versions.modules,
      isolatedVm: expect.stringMatching(/^\d+\.\d+\.\d+/),
      isolatedVmPackage: expect.stringMatching(/^isolated-vm-\d+$/),
    });
  });

  it("reports every metric key, each as a finite number", () => {
    const metrics = fromFile.metrics;
    const missing = EXPECTED_KEYS.filter((key) => !(key in metrics));
    const notFinite = Object.entries(metrics).filter(([, value]) => typeof value !== "number" || !Number.isFinite(value));
    // A figure may be missing only when the run says why: on a starved machine a sandbox can be
    // restarted mid-measurement, or a type-checked save not answered within its 5 s (counted as
    // failures), and that figure has no samples (not written, or not finite).
    const failures = Object.values(fromFile.failures).reduce((a, b) => a + b, 0);
    if (failures === 0) {
      expect(missing).toEqual([]);
      expect(notFinite).toEqual([]);
    } else {
      const why = `with ${failures} failures counted: ${JSON.stringify(fromFile.failures)}`;
      expect(missing.length, `keys missing ${why}: ${missing.join(", ")}`).toBeLessThanOrEqual(8);
      expect(notFinite.length, `figures not finite ${why}`).toBeLessThanOrEqual(8);
    }
  });

  it("reports the tick API's figures exactly when the engine has host.emitMany", () => {
    expect(typeof fromFile.params["tick.emitMany"]).toBe("boolean");
    const present = EMIT_MANY_KEYS.filter((key) => key in fromFile.metrics);
    expect(present).toEqual(fromFile.params["tick.emitMany"] ? EMIT_MANY_KEYS : []);
    if (fromFile.params["tick.emitMany"]) for (const key of EMIT_MANY_KEYS) expect(`${key}.ratio_naive` in fromFile.metrics, key).toBe(true);
  });

  it("puts modhost's process figures over the naive loader behind a process boundary, from the same run", () => {
    for (const events of [10, 1000]) {
      for (const what of ["eps", "cpu_us"]) {
        const key = `tick.ev${events}.${what}_process`;
        const floor = fromFile.metrics[`naive_ivm_process.tick.ev${events}.${what}`];
        expect(floor, `naive_ivm_process.tick.ev${events}.${what}`).toBeGreaterThan(0);
        // Rounded to 3 significant digits (lib/stats.js round), as the figures it divides.
        const ratio = fromFile.metrics[`${key}.ratio_naive_process`] as number;
        expect(Math.abs(ratio / ((fromFile.metrics[key] as number) / (floor as number)) - 1)).toBeLessThan(0.01);
      }
    }
  });

  it("counts what the CPU-load run saw as whole numbers (restarts, timeouts, failed results)", () => {
    for (const iso of ["process", "inline"]) {
      for (const what of ["sandbox_restarts", "timeouts", "failed_events", "mods_not_running", "ticks"]) {
        expect(Number.isInteger(fromFile.metrics[`load.${iso}.${what}`]), `load.${iso}.${what}`).toBe(true);
      }
    }
    expect(fromFile.metrics["load.process.ticks"]).toBeGreaterThan(0);
  });

  it("names the engine build and the peers it compared, and counts failures as numbers", () => {
    expect(fromFile.engine).toMatchObject({ commit: expect.any(String), distSha256: expect.stringMatching(/^[0-9a-f]{16}$/), uncommitted: expect.any(Array) });
    expect(Object.keys(fromFile.peers)).toEqual(PEERS);
    for (const value of Object.values(fromFile.failures)) expect(Number.isInteger(value)).toBe(true);
  });

  it("draws the chart: benchmarks/chart.js writes an SVG of the JSON", async () => {
    const svg = join(dir, "chart.svg");
    await promisify(execFile)(process.execPath, [CHART, out, svg], { cwd: ROOT, timeout: 30_000 });
    const text = await readFile(svg, "utf8");
    expect(text.startsWith("<svg")).toBe(true);
    expect(text.trimEnd().endsWith("</svg>")).toBe(true);
    for (const label of ["modhost", "isolated-vm", "quickjs", "node:vm", "native"]) expect(text).toContain(label);
    expect(text).not.toContain("NaN");
  });

  it("renders the docs tables from the JSON: the ratio to the naive loader and the modhost-only figures", async () => {
    const { resultsBlock } = (await import(REPORT)) as { resultsBlock: (results: BenchResult) => string };
    const text = resultsBlock(fromFile);
    expect(text).toContain("× naive isolated-vm loader");
    expect(text).toContain("10 events per tick (events/s)");
    expect(text).toContain("With a stateDir");
    expect(text).toContain("Crash to every mod answering");
    expect(text).toContain("Under CPU load");
    expect(text).toContain("The floor of process isolation");
    // pool.js measures a second pool size only where the machine has a second core.
    if (availableParallelism() > 1) expect(text).toContain("A pool of sandbox processes");
    expect(text).not.toContain("NaN");
  });

  it("evaluates each target it knows (without judging the numbers here)", () => {
    for (const key of ["coldstart.cached10.p50_ms", "event.single.inline_us", "event.single.process_us", "event.batched.ratio_native", "memory.idle_mod_mb", "tick.ev10.eps_process.ratio_naive", "persist.tick.mods100.added_us_batch", "load.process.sandbox_restarts", "load.process.timeouts"]) {
      expect(fromFile.targets[key]).toMatchObject({ met: expect.any(Boolean) });
    }
  });
});

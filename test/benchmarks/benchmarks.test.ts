/**
 * Smoke test of the benchmark suite: `benchmarks/run.js --quick` runs end to end in a child
 * process and reports every metric as a finite number. It never asserts on a measured value:
 * timings depend on the machine and its load.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const RUN = fileURLToPath(new URL("../../benchmarks/run.js", import.meta.url));
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
const COLD_START_KEYS = ["coldstart.cached10", "coldstart.cached1", "coldstart.uncached10", "coldstart.empty"].flatMap((prefix) =>
  ["", "_process", "_inline"].flatMap((suffix) => [`${prefix}.p50_ms${suffix}`, `${prefix}.p99_ms${suffix}`]),
);

const EXPECTED_KEYS = [...[...PAIRED_KEYS, ...CPU_KEYS].flatMap((key) => [key, `${key}.p99`]), ...COLD_START_KEYS];

interface BenchResult {
  date: string;
  quick: boolean;
  machine: Record<string, unknown>;
  metrics: Record<string, unknown>;
  targets: Record<string, { met: boolean }>;
}

describe("benchmarks/run.js --quick", () => {
  let dir: string;
  let stdout: string;
  let fromFile: BenchResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "modhost-bench-test-"));
    const out = join(dir, "result.json");
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const result = await promisify(execFile)(process.execPath, ["--no-node-snapshot", RUN, "--quick", "--out", out], {
      cwd: ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 170_000,
    });
    stdout = result.stdout;
    fromFile = JSON.parse(await readFile(out, "utf8")) as BenchResult;
  }, 180_000);

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
      isolatedVm: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
  });

  it("reports every metric key, each as a finite number", () => {
    const metrics = fromFile.metrics;
    const missing = EXPECTED_KEYS.filter((key) => !(key in metrics));
    expect(missing).toEqual([]);
    const notFinite = Object.entries(metrics).filter(([, value]) => typeof value !== "number" || !Number.isFinite(value));
    expect(notFinite).toEqual([]);
  });

  it("evaluates each target it knows (without judging the numbers here)", () => {
    for (const key of ["coldstart.cached10.p50_ms", "event.single.inline_us", "event.single.process_us", "event.batched.ratio_native", "memory.idle_mod_mb"]) {
      expect(fromFile.targets[key]).toMatchObject({ met: expect.any(Boolean) });
    }
  });
});

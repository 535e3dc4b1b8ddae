// Draws the side-by-side chart of a results JSON as plain SVG text (no dependencies).
//
//   node benchmarks/chart.js [results.json] [out.svg]
//
// Defaults: benchmarks/results/latest.json -> docs/benchmarks.svg. Four panels, one group of bars
// per runner: per-event cost (single emit and batched, ns, log scale), hot-swap pause (code-only
// and migration, 10k entities, ms, log), cold start (10 cached mods and the 10k-entity combat mod,
// ms, log), memory per idle mod (MB, linear). Each bar is the median; its whisker reaches the p99.
// A missing figure is drawn as "n/a".
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Runners in drawing order: key prefix, label, colour. */
export const RUNNERS = [
  { id: "process", label: "modhost (process)", lines: ["modhost", "process"], color: "#1f5fa8" },
  { id: "inline", label: "modhost (inline)", lines: ["modhost", "inline"], color: "#4f9be0" },
  { id: "naive_ivm", label: "isolated-vm, naive loader", lines: ["isolated-vm", "naive loader"], color: "#d9822b" },
  { id: "quickjs", label: "quickjs-emscripten", lines: ["quickjs-", "emscripten"], color: "#8e5bb5" },
  { id: "nodevm", label: "node:vm (no security boundary)", lines: ["node:vm", "(no boundary)"], color: "#6b8e23" },
  { id: "native", label: "native host code (floor)", lines: ["native", "(floor)"], color: "#7a7a7a" },
];

/** The metric keys of a figure for a runner: [median key, p99 key]. */
const FIGURES = {
  single_ns: {
    label: "single emit",
    keys: (r) => (r === "process" || r === "inline" ? [`event.single.${r}_us`, `event.single.${r}_us.p99`] : [`${r}.event.single_us`, `${r}.event.single_us.p99`]),
    scale: 1000,
  },
  batched_ns: {
    label: "batched (per event)",
    keys: (r) => (r === "process" || r === "inline" ? [`event.batched.${r}_ns`, `event.batched.${r}_ns.p99`] : [`${r}.event.batched_ns`, `${r}.event.batched_ns.p99`]),
  },
  pause10k: {
    label: "code-only",
    keys: (r) => (r === "process" ? ["swap.code10k.pause.p50_ms", "swap.code10k.pause.p99_ms"] : r === "inline" ? ["swap.code10k.pause.p50_ms_inline", "swap.code10k.pause.p99_ms_inline"] : [`${r}.swap.code10k.pause.p50_ms`, `${r}.swap.code10k.pause.p99_ms`]),
  },
  migrate10k: {
    label: "migration",
    keys: (r) => (r === "process" ? ["swap.migrate10k.p50_ms", "swap.migrate10k.p99_ms"] : r === "inline" ? ["swap.migrate10k.p50_ms_inline", "swap.migrate10k.p99_ms_inline"] : [`${r}.swap.migrate10k.p50_ms`, `${r}.swap.migrate10k.p99_ms`]),
  },
  cached10: {
    label: "10 small mods",
    keys: (r) => (r === "process" || r === "inline" ? [`coldstart.cached10.p50_ms_${r}`, `coldstart.cached10.p99_ms_${r}`] : [`${r}.coldstart.cached10.p50_ms`, `${r}.coldstart.cached10.p99_ms`]),
  },
  combat10k: {
    label: "1 mod, 10k entities",
    keys: (r) => (r === "process" || r === "inline" ? [`coldstart.combat10k.p50_ms_${r}`, `coldstart.combat10k.p99_ms_${r}`] : [`${r}.coldstart.combat10k.p50_ms`, `${r}.coldstart.combat10k.p99_ms`]),
  },
  idle: {
    label: "per idle mod",
    keys: (r) => (r === "process" || r === "inline" ? [`memory.idle_mod_mb_${r}`, `memory.idle_mod_mb_${r}.p99`] : [`${r}.memory.idle_mod_mb`, `${r}.memory.idle_mod_mb.p99`]),
  },
};

const PANELS = [
  { title: "Per-event cost", unit: "ns", log: true, figures: ["single_ns", "batched_ns"] },
  { title: "Hot-swap pause, 10k entities", unit: "ms", log: true, figures: ["pause10k", "migrate10k"] },
  { title: "Cold start to first answer (warm process)", unit: "ms", log: true, figures: ["cached10", "combat10k"] },
  { title: "Memory per idle mod", unit: "MB", log: false, figures: ["idle"] },
];

const escape = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A short human form of a number. */
export function fmt(value) {
  if (!Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(0)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs >= 0.01) return value.toFixed(3);
  return value.toPrecision(2);
}

/** The [median, p99] of a figure for a runner, scaled; NaN where missing. */
function valueOf(metrics, figure, runner) {
  const { keys, scale = 1 } = FIGURES[figure];
  const [m, p] = keys(runner);
  const get = (k) => (typeof metrics[k] === "number" && Number.isFinite(metrics[k]) ? metrics[k] * scale : Number.NaN);
  return [get(m), get(p)];
}

/** Ticks of an axis: powers of ten (log) or about five round steps (linear). */
function ticks(lo, hi, log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out;
  }
  const step = 10 ** Math.floor(Math.log10(hi / 5 || 1));
  const nice = [1, 2, 5, 10].map((f) => f * step).find((s) => hi / s <= 6) ?? step * 10;
  const out = [];
  for (let v = 0; v <= hi + nice / 2; v += nice) out.push(Number(v.toPrecision(6)));
  return out;
}

function panel(metrics, runners, spec, x0, y0, width, height) {
  const out = [];
  const left = 58;
  const bottom = 54;
  const top = 26;
  const plotW = width - left - 12;
  const plotH = height - top - bottom;
  const values = runners.map((r) => spec.figures.map((f) => valueOf(metrics, f, r.id)));
  const all = values.flat(2).filter((v) => Number.isFinite(v) && (!spec.log || v > 0));
  let lo = spec.log ? Math.min(...all) : 0;
  let hi = Math.max(...all, spec.log ? 0 : 0.001);
  if (spec.log) {
    lo = 10 ** Math.floor(Math.log10(lo || 1));
    hi = 10 ** Math.ceil(Math.log10(hi || 10));
    if (hi <= lo) hi = lo * 10;
  }
  const tickValues = ticks(lo, hi, spec.log);
  if (!spec.log) hi = tickValues[tickValues.length - 1] || 1;
  const y = (v) => {
    const t = spec.log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi;
    return y0 + top + plotH * (1 - Math.max(0, Math.min(1, t)));
  };
  out.push(`<text x="${x0 + left}" y="${y0 + 16}" class="title">${escape(spec.title)} (${spec.unit}${spec.log ? ", log scale" : ""})</text>`);
  for (const t of tickValues) {
    const ty = y(t);
    out.push(`<line x1="${x0 + left}" x2="${x0 + left + plotW}" y1="${ty}" y2="${ty}" class="grid"/>`);
    out.push(`<text x="${x0 + left - 6}" y="${ty + 4}" class="tick" text-anchor="end">${fmt(t)}</text>`);
  }
  const groupW = plotW / runners.length;
  const barW = Math.min(26, (groupW - 10) / spec.figures.length);
  runners.forEach((runner, i) => {
    const gx = x0 + left + i * groupW + (groupW - barW * spec.figures.length) / 2;
    spec.figures.forEach((figure, j) => {
      const [median, p99] = values[i][j];
      const bx = gx + j * barW;
      const shade = j === 0 ? 1 : 0.55;
      if (!Number.isFinite(median) || (spec.log && median <= 0)) {
        out.push(`<text x="${bx + barW / 2}" y="${y0 + top + plotH - 4}" class="na" text-anchor="middle">n/a</text>`);
        return;
      }
      const by = y(median);
      const base = y0 + top + plotH;
      out.push(`<rect x="${bx + 1}" y="${by}" width="${barW - 2}" height="${Math.max(1, base - by)}" fill="${runner.color}" fill-opacity="${shade}"><title>${escape(`${runner.label}, ${FIGURES[figure].label}: median ${fmt(median)} ${spec.unit}, p99 ${fmt(p99)} ${spec.unit}`)}</title></rect>`);
      if (Number.isFinite(p99) && p99 > median) out.push(`<line x1="${bx + barW / 2}" x2="${bx + barW / 2}" y1="${y(p99)}" y2="${by}" class="whisker"/>`);
      out.push(`<text x="${bx + barW / 2}" y="${by - 3}" class="value" text-anchor="middle">${fmt(median)}</text>`);
    });
    const lx = x0 + left + i * groupW + groupW / 2;
    runner.lines.forEach((line, k) => out.push(`<text x="${lx}" y="${y0 + top + plotH + 16 + 12 * k}" class="label" text-anchor="middle">${escape(line)}</text>`));
  });
  // Legend of the figures (shades).
  spec.figures.forEach((figure, j) => {
    const lx = x0 + left + j * 150;
    const ly = y0 + height - 12;
    out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="#555" fill-opacity="${j === 0 ? 1 : 0.55}"/>`);
    out.push(`<text x="${lx + 14}" y="${ly}" class="legend">${escape(FIGURES[figure].label)}</text>`);
  });
  return out.join("\n");
}

/** The SVG text for a results object ({ metrics, machine, date, quick }). */
export function renderChart(results) {
  const metrics = results.metrics ?? {};
  const runners = RUNNERS.filter((r) => r.id === "process" || r.id === "inline" || Object.keys(metrics).some((k) => k.startsWith(`${r.id}.`)));
  const width = 1000;
  const panelH = 300;
  const header = 46;
  const height = header + panelH * 2 + 20;
  const m = results.machine ?? {};
  const subtitle = `${results.quick ? "QUICK SMOKE RUN (figures mean nothing) · " : ""}${results.date ?? ""} · ${m.cpuModel ?? "?"} × ${m.cpuCount ?? "?"} · node ${m.node ?? "?"} · medians, whiskers to p99`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<style>.title{font-size:13px;font-weight:bold;fill:#222}.tick{font-size:10px;fill:#555}.label{font-size:10px;fill:#333}.value{font-size:9px;fill:#222;stroke:#fff;stroke-width:3px;paint-order:stroke}.legend{font-size:10px;fill:#333}.na{font-size:9px;fill:#999}.grid{stroke:#e3e3e3;stroke-width:1}.whisker{stroke:#222;stroke-width:1.2}</style>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="22" font-size="16" font-weight="bold" fill="#111">modhost vs. the alternatives: same combat mod, same machine, same run</text>`,
    `<text x="16" y="38" font-size="11" fill="#555">${escape(subtitle)}</text>`,
  ];
  PANELS.forEach((spec, i) => {
    const col = i % 2;
    const row = Math.floor(i / 2);
    parts.push(panel(metrics, runners, spec, col * (width / 2), header + row * panelH, width / 2, panelH));
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const input = process.argv[2] ?? fileURLToPath(new URL("./results/latest.json", import.meta.url));
  const output = process.argv[3] ?? fileURLToPath(new URL("../docs/benchmarks.svg", import.meta.url));
  const results = JSON.parse(readFileSync(input, "utf8"));
  writeFileSync(output, renderChart(results));
  process.stderr.write(`[chart] ${output}\n`);
}

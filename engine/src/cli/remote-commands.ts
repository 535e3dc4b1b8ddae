import type { AdminClient } from "../admin/admin-client.js";
import type { HeapUse } from "../admin/protocol.js";
import type { MetricsSnapshot } from "../host/host-metrics.js";
import type { SwapReport } from "../model/swap-report.js";
import { parseCommandArgs } from "./cli-args.js";
import { cliOutput } from "./cli-output.js";
import { EXIT_CODES, exitOf } from "./exit-codes.js";
import { formatMods, formatReport } from "./report-format.js";
import { connectToServer, SERVER_FLAGS, whoAmI } from "./server-connection.js";

/** Connects, runs `fn`, and closes the connection whatever happens. */
export async function withServer<T>(command: string, values: { server?: string | undefined; "token-file"?: string | undefined }, fn: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = await connectToServer(command, values);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** `modhost status`: the mods of a running server. */
export async function statusCommand(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs("status", args, SERVER_FLAGS, { min: 0, max: 0, names: "" });
  const out = cliOutput(values.json === true);
  const { mods } = await withServer("status", values, (client) => client.request("status", {}));
  if (out.json) out.data({ mods });
  else out.line(formatMods(mods, out.style));
  return EXIT_CODES.ok;
}

const ROLLBACK_FLAGS = { ...SERVER_FLAGS, to: { type: "string" } } as const;

/**
 * `modhost reload|rollback|approve <mod>`: one swap operation on a running server (`rollback
 * --to <version>` returns to an older version of `modhost versions`). Exit 0 done, 4 held for
 * approval, 1 refused.
 */
export function swapCommand(kind: "reload" | "rollback" | "approve"): (args: readonly string[]) => Promise<number> {
  return async (args) => {
    const { values, positionals } = parseCommandArgs(kind, args, kind === "rollback" ? ROLLBACK_FLAGS : SERVER_FLAGS, { min: 1, max: 1, names: "the mod's name" });
    const out = cliOutput(values.json === true);
    const mod = positionals[0] as string;
    const to = (values as { to?: string }).to;
    const report: SwapReport = await withServer(kind, values, (client) =>
      kind === "rollback" ? client.request("rollback", { mod, by: whoAmI(), ...(to !== undefined ? { to } : {}) }) : client.request(kind, { mod, by: whoAmI() }),
    );
    if (out.json) out.data(report);
    else out.line(formatReport(report, out.style));
    return exitOf(report);
  };
}

/** `modhost metrics`: the server's counters per mod, and heap use. */
export async function metricsCommand(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs("metrics", args, SERVER_FLAGS, { min: 0, max: 0, names: "" });
  const out = cliOutput(values.json === true);
  const result = await withServer("metrics", values, (client) => client.request("metrics", {}));
  if (out.json) out.data(result);
  else out.line(formatMetrics(result.metrics, result.heaps));
  return EXIT_CODES.ok;
}

function formatMetrics(metrics: MetricsSnapshot, heaps: HeapUse): string {
  const header = ["MOD", "EVENTS", "ERRORS", "MEAN", "HEAP", "SWAPS", "ROLLBACKS", "FAULTS", "QUARANTINES"];
  const rows = Object.entries(metrics.mods)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([mod, m]) => {
      const errors = Object.values(m.errors).reduce((a, b) => a + b, 0);
      const heap = heaps[mod];
      return [
        mod,
        String(m.events),
        String(errors),
        m.events > 0 ? `${(m.latencySumMs / m.events).toFixed(3)} ms` : "-",
        heap !== undefined ? `${mb(heap.usedBytes)}/${mb(heap.limitBytes)} MB` : "-",
        String(m.swaps),
        String(m.rollbacks),
        String(m.faults),
        String(m.quarantines),
      ];
    });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  const j = metrics.journal;
  return [
    pad(header),
    ...rows.map(pad),
    "",
    `journal: ${j.records} records, ${j.bytes} bytes, ${j.syncs} syncs (${j.syncMsTotal.toFixed(1)} ms); sandbox restarts: ${metrics.sandboxRestarts}`,
  ].join("\n");
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

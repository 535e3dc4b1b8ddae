import { describe, expect, it } from "vitest";
// The checker is plain JavaScript so that `npm run check:imports` runs it without a build.
// @ts-expect-error: an .mjs module without a declaration file; its functions are documented there.
import * as importGraph from "../../engine/scripts/import-graph.mjs";

type Graph = Map<string, string[]>;
const { buildImportGraph, findCycles, folderGraph, folderViolations, unknownFolders } = importGraph as {
  buildImportGraph(srcDir?: string): Graph;
  findCycles(graph: Graph): string[][];
  folderGraph(graph: Graph): Graph;
  folderViolations(graph: Graph, allowed?: Record<string, readonly string[]>): string[];
  unknownFolders(graph: Graph, allowed?: Record<string, readonly string[]>): string[];
};

// What is still wrong today (issue 16). The list only shrinks: a new cycle or wrong-way import fails.
const KNOWN_FILE_CYCLES = [
  ["host/capability-gate.ts", "host/host-options.ts"],
  ["host/host-metrics.ts", "host/mod-slot.ts"],
];
const KNOWN_FOLDER_CYCLES = [["analysis", "compile", "host", "swap"]];
const KNOWN_VIOLATIONS = [
  "analysis/manifest-diff.ts -> host/swap-report.ts",
  "analysis/semantic-diff.ts -> host/swap-report.ts",
  "compile/compile-file.ts -> analysis/safety-rules.ts",
  "persist/durable-entry.ts -> sandbox/wire.ts",
  "persist/mod-store.ts -> sandbox/wire.ts",
  "swap/swap-coordinator.ts -> host/host-options.ts",
  "swap/swap-coordinator.ts -> host/mod-loader.ts",
  "swap/swap-coordinator.ts -> host/mod-slot.ts",
  "swap/swap-coordinator.ts -> host/swap-report.ts",
];

describe("engine/src import graph", () => {
  const graph = buildImportGraph();

  it("reads the engine's sources", () => {
    expect(graph.has("host/mod-host.ts")).toBe(true);
    expect(graph.get("index.ts")).toContain("host/mod-host.ts");
  });

  it("has no import cycle between files", () => {
    expect(findCycles(graph)).toEqual(KNOWN_FILE_CYCLES);
  });

  it("has no import cycle between folders", () => {
    expect(findCycles(folderGraph(graph))).toEqual(KNOWN_FOLDER_CYCLES);
  });

  it("crosses folders only where FOLDER_DEPS allows", () => {
    expect(unknownFolders(graph)).toEqual([]);
    expect(folderViolations(graph)).toEqual(KNOWN_VIOLATIONS);
  });
});

describe("the checker itself", () => {
  // A graph with a planted cycle and a planted wrong-way import: the checks must see both.
  const planted: Graph = new Map([
    ["swap/plan.ts", ["host/slot.ts"]],
    ["host/slot.ts", ["swap/plan.ts", "util/x.ts"]],
    ["util/x.ts", []],
    ["index.ts", ["host/slot.ts"]],
  ]);
  const rules = { util: [], swap: [], host: ["swap", "util"] };

  it("finds a file cycle and the folder cycle it makes", () => {
    expect(findCycles(planted)).toEqual([["host/slot.ts", "swap/plan.ts"]]);
    expect(findCycles(folderGraph(planted))).toEqual([["host", "swap"]]);
  });

  it("names the import that breaks a folder rule, and a folder with no rule", () => {
    expect(folderViolations(planted, rules)).toEqual(["swap/plan.ts -> host/slot.ts"]);
    expect(unknownFolders(planted, { util: [], host: [] })).toEqual(["swap"]);
  });
});

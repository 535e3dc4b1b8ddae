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

describe("engine/src import graph", () => {
  const graph = buildImportGraph();

  it("reads the engine's sources", () => {
    expect(graph.has("host/mod-host.ts")).toBe(true);
    expect(graph.get("index.ts")).toContain("host/mod-host.ts");
  });

  it("has no import cycle between files", () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it("has no import cycle between folders", () => {
    expect(findCycles(folderGraph(graph))).toEqual([]);
  });

  it("crosses folders only where FOLDER_DEPS allows", () => {
    expect(unknownFolders(graph)).toEqual([]);
    expect(folderViolations(graph)).toEqual([]);
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

describe("docs/ARCHITECTURE.md", () => {
  it("states the same folder rules as FOLDER_DEPS", async () => {
    const { readFile } = await import("node:fs/promises");
    const text = await readFile(new URL("../../docs/ARCHITECTURE.md", import.meta.url), "utf8");
    const documented: Record<string, string[]> = {};
    for (const match of text.matchAll(/^\| `([a-z]+)\/` \|[^|]*\|([^|]*)\|$/gm)) {
      const imports = match[2]!.split(",").map((s) => s.trim()).filter((s) => s !== "");
      documented[match[1]!] = imports.sort();
    }
    const table = (importGraph as { FOLDER_DEPS: Record<string, readonly string[]> }).FOLDER_DEPS;
    const expected = Object.fromEntries(Object.entries(table).map(([folder, deps]) => [folder, [...deps].sort()]));
    expect(documented).toEqual(expected);
  });
});

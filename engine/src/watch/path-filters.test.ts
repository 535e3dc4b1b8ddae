import { describe, expect, it } from "vitest";
import { isIgnoredName, isReloadRelevant, isSkippedDirectory } from "./path-filters.js";

describe("path filters", () => {
  it("ignores dotfiles and editors' probe, swap, backup and temp files", () => {
    for (const name of ["4913", "main.ts~", ".main.ts.swp", ".main.ts.swx", "main.ts.tmp", "main.ts.tmp-123", ".#main.ts", "#main.ts#", "main.ts___jb_tmp___", ".DS_Store"]) {
      expect(isIgnoredName(name), name).toBe(true);
    }
    for (const name of ["main.ts", "mod.json", "tmp.ts", "swp", "4913.ts"]) expect(isIgnoredName(name), name).toBe(false);
  });

  it("skips node_modules, dist and dot-folders", () => {
    for (const name of ["node_modules", "dist", ".git", ".cache"]) expect(isSkippedDirectory(name), name).toBe(true);
    for (const name of ["lib", "src", "distance"]) expect(isSkippedDirectory(name), name).toBe(false);
  });

  it("counts .ts files and the top-level mod.json only", () => {
    expect(isReloadRelevant(["main.ts"])).toBe(true);
    expect(isReloadRelevant(["lib", "deep", "util.ts"])).toBe(true);
    expect(isReloadRelevant(["mod.json"])).toBe(true);
    expect(isReloadRelevant(["lib", "mod.json"])).toBe(false);
    expect(isReloadRelevant(["README.md"])).toBe(false);
    expect(isReloadRelevant(["main.ts~"])).toBe(false);
    expect(isReloadRelevant(["node_modules", "dep", "index.ts"])).toBe(false);
    expect(isReloadRelevant([])).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import type { ModManifest } from "../manifest/mod-manifest.js";
import { diffManifests } from "./manifest-diff.js";

const BASE: ModManifest = { name: "counter", version: "1.0.0", entry: "main.ts", permissions: ["log"], limits: { memoryMb: 16 } };

describe("diffManifests", () => {
  it("finds nothing between equal manifests, whatever the order of permissions", () => {
    expect(diffManifests(BASE, { ...BASE })).toEqual({ changes: [], permissionsAdded: [], limitsRaised: [] });
    const two = { ...BASE, permissions: ["a", "b"] };
    expect(diffManifests(two, { ...two, permissions: ["b", "a"] }).changes).toEqual([]);
  });

  it("reports each changed field by path, sorted", () => {
    const next: ModManifest = { ...BASE, name: "counter2", version: "2.0.0", entry: "index.ts", description: "new" };
    expect(diffManifests(BASE, next).changes).toEqual([
      { kind: "added", path: "mod.json#description" },
      { kind: "modified", path: "mod.json#entry" },
      { kind: "modified", path: "mod.json#name" },
      { kind: "modified", path: "mod.json#version" },
    ]);
  });

  it("reports a removed permission as a change without anything to approve", () => {
    const diff = diffManifests(BASE, { ...BASE, permissions: [] });
    expect(diff.changes).toEqual([{ kind: "modified", path: "mod.json#permissions" }]);
    expect(diff.permissionsAdded).toEqual([]);
  });

  it("counts a dropped limit as raised: the host's cap then applies", () => {
    const diff = diffManifests(BASE, { ...BASE, limits: {} });
    expect(diff.limitsRaised).toEqual(["memoryMb"]);
    expect(diff.changes).toEqual([{ kind: "modified", path: "mod.json#limits" }]);
  });
});

/**
 * Runs in every test file: after all of its tests, fail if any isolate, sandbox process, watcher
 * or server the engine opened is still open, or if the file left child processes or file handles.
 */
import { afterAll, beforeAll, expect } from "vitest";

const LIVE = Symbol.for("modhost.liveResources");
const WATCHED = new Set(["ProcessWrap", "FileHandle", "FSEventWrap", "StatWatcher", "TCPServerWrap", "TCPWrap", "PipeServerWrap"]);

function engineResources(): Record<string, number> {
  const registry = (globalThis as { [LIVE]?: Map<string, number> })[LIVE];
  const out: Record<string, number> = {};
  for (const [kind, count] of registry ?? []) if (count !== 0) out[kind] = count;
  return out;
}

function osResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) if (WATCHED.has(kind)) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}

let baseline: Record<string, number> = {};
beforeAll(() => {
  baseline = osResources();
});

afterAll(async () => {
  // Let handles that were closed in the last test finish closing.
  for (let i = 0; i < 20; i++) {
    const leaked = Object.keys(engineResources()).length > 0 || JSON.stringify(osResources()) !== JSON.stringify(baseline);
    if (!leaked) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(engineResources(), "engine resources left open after this test file").toEqual({});
  expect(osResources(), "OS handles left open after this test file").toEqual(baseline);
});

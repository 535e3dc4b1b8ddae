// The isolated-vm release modhost itself loads on this Node, for the bare-isolate floors and the
// naive peer. engine/package.json lists one npm alias per isolated-vm release (isolated-vm-5, -6,
// -7) and the engine's loader picks by process.versions.modules: ask it rather than guess.
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = process.env.MODHOST_BENCH_ENGINE ?? fileURLToPath(new URL("../../engine/", import.meta.url));
const loader = await import(pathToFileURL(join(dir, "dist", "sandbox", "ivm.js")).href);

/** The isolated-vm module (loaded on first call). */
export const loadIsolatedVm = loader.loadIsolatedVm;
/** `{ alias, version }` of the release loaded. */
export const isolatedVmPackage = loader.isolatedVmPackage;

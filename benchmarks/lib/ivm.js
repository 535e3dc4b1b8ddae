// The isolated-vm release modhost itself loads on this Node, for the bare-isolate floors and the
// naive peer. engine/package.json lists one npm alias per isolated-vm release (isolated-vm-5, -6,
// -7) and the engine's loader picks by process.versions.modules: ask it rather than guess.
import { importEngineModule } from "./engine.js";

const loader = await importEngineModule("sandbox/ivm.js");

/** The isolated-vm module (loaded on first call). */
export const loadIsolatedVm = loader.loadIsolatedVm;
/** `{ alias, version }` of the release loaded. */
export const isolatedVmPackage = loader.isolatedVmPackage;

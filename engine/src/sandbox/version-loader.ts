import { randomBytes } from "node:crypto";
import type { ErrorCode } from "../errors/error-codes.js";
import type { CallOutcome, IsolateHandle, ModuleSet } from "./ivm.js";
import { decodeShape, encodeStageConfig } from "./prelude-protocol.js";
import { bootModuleSource, callPrelude, internalModuleSource, SDK_MODULE_SOURCE, type PreludeHandles } from "./prelude-source.js";
import { failed, type SandboxNotOk, type SandboxOutcome } from "./sandbox-outcome.js";
import type { LoadSpec, ModShape } from "../model/wire.js";

const SDK_SPECIFIER = "@modhost/sdk";
const INTERNAL_PATH = "modhost:internal";
const BOOT_PATH = "modhost:boot";

/** A version's modules, loaded in an isolate, and what its definition handles. */
export interface LoadedVersion {
  readonly shape: ModShape;
  readonly modules: ModuleSet;
}

/**
 * Builds a version's modules in the isolate (staged in the prelude, beside any live version) and
 * reads its definition's shape. A failure may have left globals changed by the version's
 * top-level code.
 */
export function loadVersion(isolate: IsolateHandle, api: PreludeHandles, spec: LoadSpec): SandboxOutcome<LoadedVersion> {
  const registerName = `__modhost_${randomBytes(12).toString("hex")}`;
  const staged = callPrelude(isolate, api, "stage", [encodeStageConfig(spec), registerName], 1000);
  if (staged.kind !== "ok") return callFailure(staged, spec, "starting the sandbox", "E_MOD_LOAD_THREW");
  const imports = new Map<string, Readonly<Record<string, string>>>();
  for (const module of spec.modules) {
    if (!module.path.endsWith(".ts")) return failed("E_INTERNAL", `module path ${module.path} is not a .ts file`);
    imports.set(module.path, module.imports);
  }
  const sources = [
    ...spec.modules.map((m) => ({ path: m.path, code: m.js })),
    { path: SDK_SPECIFIER, code: SDK_MODULE_SOURCE },
    { path: INTERNAL_PATH, code: internalModuleSource(registerName) },
    { path: BOOT_PATH, code: bootModuleSource(spec.entry) },
  ];
  const resolve = (specifier: string, referrer: string): string | { refused: string } => {
    if (referrer === BOOT_PATH) {
      if (specifier === INTERNAL_PATH || specifier === spec.entry) return specifier;
      return { refused: `boot cannot import ${specifier}` };
    }
    const target = imports.get(referrer)?.[specifier];
    if (target === undefined) return { refused: `import "${specifier}" from ${referrer} is not allowed` };
    return target;
  };
  const loaded = isolate.loadModules(sources, BOOT_PATH, resolve, spec.callTimeoutMs * 10);
  if (loaded.kind !== "ok") return callFailure(loaded, spec, "loading the mod's modules", "E_MOD_LOAD_THREW");
  const described = callPrelude(isolate, api, "describe", [], spec.callTimeoutMs);
  const shape = described.kind === "ok" ? decodeShape(described.value, "E_MOD_DEFINITION") : callFailure(described, spec, "reading the mod's definition", "E_MOD_DEFINITION");
  if (shape.kind !== "ok") {
    loaded.value.release();
    return shape.kind === "failed" && described.kind === "ok" ? failed(shape.error.code, `reading the mod's definition: ${shape.error.message}`, shape.error.stack) : shape;
  }
  return { kind: "ok", value: { shape: shape.value, modules: loaded.value } };
}

/**
 * A call into the isolate that did not return, as an outcome: `doing` says which step, and
 * `code` is the failure's code when the call threw (the mod's code, or the prelude's).
 */
export function callFailure(outcome: Exclude<CallOutcome<unknown>, { kind: "ok" }>, spec: LoadSpec, doing: string, code: ErrorCode): SandboxNotOk {
  switch (outcome.kind) {
    case "timeout":
      return { kind: "timeout", error: { code: "E_TIMEOUT", message: `${doing} took longer than the time limit` } };
    case "memory":
      return { kind: "memory", error: { code: "E_MEMORY_LIMIT", message: `${doing} ran past the ${spec.memoryMb} MB memory limit` } };
    case "disposed":
      return { kind: "disposed", error: { code: "E_INTERNAL", message: `${doing}: the isolate was disposed` } };
    case "threw":
      return failed(code, `${doing}: ${outcome.message}`, outcome.stack);
  }
}

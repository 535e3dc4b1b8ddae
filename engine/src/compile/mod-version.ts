import type { Diagnostic } from "../errors/diagnostic.js";
import type { ErrorInfo } from "../errors/modhost-error.js";
import type { ModManifest } from "../manifest/mod-manifest.js";
import type { SignedOrigin } from "../model/signed-origin.js";
import type { LoadSpec } from "../model/wire.js";
import type { CompiledModule } from "./compiled-module.js";

/** One version of a mod, compiled and checked, ready to start in a sandbox. */
export interface ModVersion {
  readonly dir: string;
  readonly manifest: ModManifest;
  readonly hash: string;
  readonly spec: LoadSpec;
  readonly modules: readonly CompiledModule[];
  /** Warnings found while preparing it (errors stop a version from existing). */
  readonly diagnostics: readonly Diagnostic[];
  /** The source text of each .ts file, for the semantic diff of a later swap. */
  readonly files: ReadonlyMap<string, string>;
  /** The signed package this folder's files were verified as (requireSigned). */
  readonly signed?: SignedOrigin;
}

/** A version, or why a mod folder could not become one. */
export type PrepareResult =
  | { readonly ok: true; readonly version: ModVersion }
  | {
      readonly ok: false;
      readonly name: string;
      readonly error: ErrorInfo;
      readonly diagnostics: readonly Diagnostic[];
      /** The manifest's version, when mod.json could be read (the version that was refused). */
      readonly version?: string;
    };

import type { Diagnostic } from "../errors/diagnostic.js";

/** Given once to the type-check child process, as its one argument (JSON). */
export interface TypeCheckChildData {
  /** Extra declaration files (absolute paths) every mod sees. */
  readonly extraTypeFiles: readonly string[];
}

/** A request to the child: check one mod's files (posix path -> text). */
export interface TypeCheckRequest {
  readonly id: number;
  readonly mod: string;
  readonly files: readonly (readonly [string, string])[];
}

/** What the child sends back: `ready` once after warming up, then one answer per request. */
export type TypeCheckMessage =
  | { readonly kind: "ready" }
  | { readonly kind: "checked"; readonly id: number; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: "failed"; readonly id: number; readonly code: "E_SOURCE_TOO_COMPLEX" | "E_INTERNAL"; readonly message: string };

/** One top-level declaration of a file (or one property of its mod definition), fingerprinted. */
export interface Declaration {
  /**
   * Its path within the file: `function dmg`, `const X`, `type State`, `interface Foo`,
   * `class C`, `enum E`, `namespace N`, `imports`, `exports`, `export default`, `statement #2`,
   * or, for the mod definition's properties, `init`, `migrate`, `on.hit`...
   */
  readonly path: string;
  /** Canonical form of all its parts (overloads, merged interfaces), modifiers included. */
  readonly print: string;
  /** The same without top-level modifiers (`export`, `declare`): what the state shape depends on. */
  readonly shapePrint: string;
  /** Names it uses that may refer to other declarations (see `Fingerprint.references`). */
  readonly references: readonly string[];
}

/** A name bound by an import: the specifier and the imported name (`default`, `*` for a namespace). */
export interface ImportedBinding {
  readonly specifier: string;
  readonly name: string;
}

/** What an exported name stands for: a name of this file or a name re-exported from another module. */
export type ExportedBinding =
  | { readonly kind: "local"; readonly name: string }
  | { readonly kind: "from"; readonly specifier: string; readonly name: string };

/** The mod definition (`export default defineMod<State>({...})`) as found in a file. */
export interface ModDefinition {
  /** Path of the declaration that holds it: `export default`, or `const mod` for `export default mod`. */
  readonly host: string;
  /** The state type argument of `defineMod<State>`, when there is one. */
  readonly stateType?: { readonly print: string; readonly references: readonly string[] };
  /**
   * Paths of its properties (`init`, `migrate`, `on`, `on.hit`...) when the definition is an
   * object literal; undefined when it is built elsewhere (`defineMod(config)`) and cannot be read.
   */
  readonly properties?: ReadonlySet<string>;
  /** Why the default export cannot be a mod definition at all (`defineMod(null)`, `export default 1`). */
  readonly invalid?: string;
}

/** Everything the semantic diff needs from one file; depends on its text only, so it is cached. */
export interface FileDeclarations {
  /** By path, in source order. */
  readonly declarations: ReadonlyMap<string, Declaration>;
  /** Top-level names (values and types alike) -> paths of the declarations that declare them. */
  readonly names: ReadonlyMap<string, readonly string[]>;
  /** Local name -> where an import got it. */
  readonly imports: ReadonlyMap<string, ImportedBinding>;
  /** Exported name -> what it stands for. */
  readonly exports: ReadonlyMap<string, ExportedBinding>;
  /** Specifiers of `export * from "..."`. */
  readonly starExports: readonly string[];
  /** Paths of the declarations that run code when the module is evaluated, in source order. */
  readonly evaluationOrder: readonly string[];
  readonly modDefinition?: ModDefinition;
}

/** Counters since the process started, for tests and metrics. */
export interface FileDeclarationsStats {
  /** Files actually parsed and fingerprinted. */
  readonly parsed: number;
  /** Files served from the cache. */
  readonly cacheHits: number;
}

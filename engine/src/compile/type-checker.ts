import { isAbsolute } from "node:path";
import type ts from "typescript";
import type { Diagnostic } from "../errors/diagnostic.js";
import { loadTypeScript, type TypeScript } from "./load-typescript.js";
import { MOD_GLOBALS_DTS } from "./mod-globals.js";
import { ModProject, type ModProjectSetup } from "./mod-project.js";
import { sdkAmbientModule } from "./sdk-ambient-module.js";
import { locateSdk } from "./sdk-location.js";
import { SharedScriptFiles } from "./shared-script-files.js";

/** Options of `ModTypeChecker.create`. */
export interface TypeCheckOptions {
  /**
   * Absolute path of the SDK's declaration file. Default: the `@modhost/sdk` package's types
   * (`scripts-sdk/dist/index.d.ts`), found by Node resolution from the engine or by walking up
   * to the repository.
   */
  readonly sdkTypes?: string;
  /**
   * Extra declaration files (absolute paths) every mod sees, e.g. the game's augmentation of
   * `ModEvents`/`ModCapabilities`: `declare module "@modhost/sdk" { interface ModEvents {...} }`,
   * in a script .d.ts or in a module one (with an `import`/`export`) alike.
   */
  readonly extraTypeFiles?: readonly string[];
}

// Where the sandbox globals and the SDK live in every program: paths no real file can have.
const GLOBALS_FILE = "/__modhost__/globals.d.ts";
const SDK_FILE = "/__modhost__/sdk.d.ts";

/**
 * Type-checks mods against the SDK's declarations, with one warm TypeScript language service per
 * mod so that a re-check after an edit re-parses only the changed files and re-checks only them
 * and their importers. Every mod sees ES2023
 * built-ins, the sandbox's `console`, `@modhost/sdk` and the `extraTypeFiles`; nothing of Node or
 * the DOM. The lib, SDK and extra files are parsed once for all mods (a shared document registry).
 */
export class ModTypeChecker {
  readonly #typescript: TypeScript;
  readonly #setup: ModProjectSetup;
  readonly #projects = new Map<string, ModProject>();
  #disposed = false;

  private constructor(typescript: TypeScript, setup: ModProjectSetup) {
    this.#typescript = typescript;
    this.#setup = setup;
  }

  /**
   * Loads TypeScript and reads the SDK's and extra declaration files. Rejects when the compiler
   * cannot be loaded or a declaration file is missing (a setup error, not a mod's).
   */
  static async create(options: TypeCheckOptions = {}): Promise<ModTypeChecker> {
    const typescript = await loadTypeScript();
    const sdkPath = options.sdkTypes ?? locateSdk().typesPath;
    const extra = options.extraTypeFiles ?? [];
    for (const file of [sdkPath, ...extra]) {
      if (!isAbsolute(file)) throw new Error(`type declarations must be given by absolute path, not "${file}"`);
    }
    const shared = new SharedScriptFiles(typescript);
    for (const file of [sdkPath, ...extra]) shared.preload(file);
    shared.addVirtual(GLOBALS_FILE, MOD_GLOBALS_DTS);
    shared.addVirtual(SDK_FILE, sdkAmbientModule(typescript, sdkPath, shared.read(sdkPath) ?? ""));
    const setup: ModProjectSetup = {
      typescript,
      registry: typescript.createDocumentRegistry(true),
      options: compilerOptions(typescript),
      shared,
      sharedRoots: [GLOBALS_FILE, SDK_FILE, ...extra],
    };
    return new ModTypeChecker(typescript, setup);
  }

  /**
   * Type-checks one mod's files (posix path relative to the mod folder -> text, the entry
   * included; files not ending in `.ts` are ignored). Incremental: the mod's language service
   * stays warm between calls, only files whose text changed get new versions (and are
   * re-parsed), and only they and the files importing them are re-checked. Returns the
   * program diagnostics of the mod's own files (never the SDK's or the game's): semantic ones as
   * `E_TYPE`, syntactic ones as `E_SYNTAX` (what `compileMod` reports for them too), each with its
   * mod-relative file, 1-based line, 0-based column and a message ending in ` (TS<code>)`.
   * In file path order; within a file, syntactic ones first, each kind in TypeScript's order.
   */
  check(modName: string, files: ReadonlyMap<string, string>): Diagnostic[] {
    if (this.#disposed) throw new Error("the type checker was disposed");
    let project = this.#projects.get(modName);
    if (project === undefined) {
      project = new ModProject(this.#setup, modName);
      this.#projects.set(modName, project);
    }
    project.update(files);
    const out: Diagnostic[] = [];
    for (const file of project.diagnostics()) {
      for (const d of file.syntactic) out.push(this.#toDiagnostic("E_SYNTAX", file.path, d));
      for (const d of file.semantic) out.push(this.#toDiagnostic("E_TYPE", file.path, d));
    }
    return out;
  }

  /** Forgets a mod's language service (its next check starts cold, sharing the parsed libs). */
  forget(modName: string): void {
    this.#projects.get(modName)?.dispose();
    this.#projects.delete(modName);
  }

  /** Disposes every mod's language service; `check` throws afterwards. */
  dispose(): void {
    for (const project of this.#projects.values()) project.dispose();
    this.#projects.clear();
    this.#disposed = true;
  }

  #toDiagnostic(code: "E_TYPE" | "E_SYNTAX", path: string, d: ts.Diagnostic): Diagnostic {
    const typescript = this.#typescript;
    const message = `${typescript.flattenDiagnosticMessageText(d.messageText, "\n")} (TS${d.code})`;
    const severity = d.category === typescript.DiagnosticCategory.Error ? "error" : "warning";
    if (d.file === undefined || d.start === undefined) return { code, severity, message, file: path };
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return { code, severity, message, file: path, line: line + 1, column: character };
  }
}

function compilerOptions(typescript: TypeScript): ts.CompilerOptions {
  return {
    strict: true,
    target: typescript.ScriptTarget.ES2022,
    module: typescript.ModuleKind.ESNext,
    moduleResolution: typescript.ModuleResolutionKind.Bundler,
    // What an isolate has: the language's built-ins. No DOM and no Node, so `process`,
    // `setTimeout` or `require` are errors, as they would be at run time.
    lib: ["lib.es2023.d.ts"],
    types: [],
    noEmit: true,
    // `./util.ts` is a valid import for the linker; TypeScript allows it only without emit.
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    // Every mod file is an ES module to the sandbox, even one without imports or exports: its
    // top-level names must not leak into the mod's other files as globals.
    moduleDetection: typescript.ModuleDetectionKind.Force,
    // compileMod transpiles each file alone: flag what a per-file transpile gets wrong
    // (re-exporting a type without `type`, ambient const enums).
    isolatedModules: true,
  };
}

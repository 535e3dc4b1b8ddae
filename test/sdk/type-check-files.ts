import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The repository root: virtual files live under it so that `@modhost/sdk` resolves as for a real mod. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A type error or warning found in one of the given files. */
export interface FoundDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly code: number;
  readonly message: string;
}

/**
 * Where the code runs: "sandbox" is what the engine checks a mod with (ES2023, no DOM, no Node,
 * the sandbox's `console`), "node" is a test or a game server (Node's types, NodeNext modules).
 */
export type CodeEnvironment = "sandbox" | "node";

const SANDBOX_GLOBALS = `interface ModConsole { log(...args: unknown[]): void; info(...args: unknown[]): void; debug(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void }
declare var console: ModConsole;
`;

const OPTIONS: Record<CodeEnvironment, ts.CompilerOptions> = {
  sandbox: {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2023.d.ts"],
    types: [],
    noEmit: true,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    moduleDetection: ts.ModuleDetectionKind.Force,
    isolatedModules: true,
  },
  node: {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2023.d.ts"],
    types: ["node"],
    noEmit: true,
    skipLibCheck: true,
    isolatedModules: true,
    verbatimModuleSyntax: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
  },
};

/**
 * Type-checks in-memory files (name -> text; names may contain folders) in one program, with the
 * real `@modhost/sdk` declarations from the built SDK, as an editor or `tsc` would. Returns the
 * diagnostics of the given files only, sorted by file and position.
 */
export function typeCheckFiles(files: Readonly<Record<string, string>>, env: CodeEnvironment): FoundDiagnostic[] {
  const root = join(REPO_ROOT, "test", "sdk", ".virtual", env);
  const virtual = new Map<string, string>();
  for (const [name, text] of Object.entries(files)) virtual.set(join(root, name), text);
  if (env === "sandbox") virtual.set(join(root, "__sandbox-globals.d.ts"), SANDBOX_GLOBALS);
  const options = OPTIONS[env];
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile, directoryExists } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(f) ?? readFile.call(host, f);
  host.directoryExists = (d) => d === root || d.startsWith(`${root}/`) || (directoryExists?.call(host, d) ?? true);
  host.getSourceFile = (f, language, onError, create) => {
    const text = virtual.get(f);
    return text !== undefined ? ts.createSourceFile(f, text, language, true) : getSourceFile.call(host, f, language, onError, create);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const out: FoundDiagnostic[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.file === undefined || !virtual.has(d.file.fileName)) {
      // A problem outside the given files (a missing lib, an unresolvable SDK) is a broken setup.
      throw new Error(`type-check setup problem: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    }
    const line = d.start === undefined ? 0 : d.file.getLineAndCharacterOfPosition(d.start).line + 1;
    out.push({ file: d.file.fileName.slice(root.length + 1), line, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, "\n") });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

/** Every diagnostic of the program a tsconfig file describes, as "file:line TScode message". */
export function typeCheckProject(configPath: string): { readonly files: readonly string[]; readonly diagnostics: readonly string[] } {
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(`${configPath}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    },
  });
  if (parsed === undefined) throw new Error(`cannot read ${configPath}`);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)].map((d) => {
    const where = d.file !== undefined && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1} ` : "";
    return `${where}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
  return { files: parsed.fileNames, diagnostics };
}

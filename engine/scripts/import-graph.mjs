#!/usr/bin/env node
// The engine's import graph, read with the TypeScript compiler's own import scanner
// (ts.preProcessFile: real import/export/import() specifiers, never strings inside code),
// and the two rules docs/ARCHITECTURE.md states: no import cycle between files, and a folder
// imports only the folders FOLDER_DEPS allows (which also rules out cycles between folders).
// Run directly (`npm run check:imports`) it prints what it found and exits 1 on a violation;
// test/architecture/import-cycles.test.ts runs the same functions.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** engine/src, where the rules apply. */
export const ENGINE_SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** engine/runtime, the in-isolate prelude's package, outside the rules. */
const ENGINE_RUNTIME = fileURLToPath(new URL("../runtime/", import.meta.url));

/**
 * Which folder of engine/src may import which (besides itself). Data-path order: a folder may
 * import only folders listed for it; anything missing is refused. `index.ts` (the package's
 * public surface) sits at the root and may import anything; no folder may import it.
 * Keep docs/ARCHITECTURE.md ("Folders") in step with this table.
 */
export const FOLDER_DEPS = {
  errors: [],
  util: ["errors"],
  model: ["errors", "util"],
  manifest: ["errors", "util", "model"],
  compile: ["errors", "util", "model", "manifest"],
  analysis: ["errors", "util", "model", "manifest", "compile"],
  swap: ["errors", "util", "model", "manifest", "compile", "analysis"],
  sandbox: ["errors", "util", "model", "manifest", "compile"],
  backends: ["errors", "util", "model", "sandbox"],
  persist: ["errors", "util", "model", "manifest", "compile"],
  watch: ["errors", "util"],
  deploy: ["errors", "util", "model", "manifest"],
  registry: ["errors", "util", "model", "manifest", "persist", "deploy"],
  fleet: ["errors", "util", "model"],
  slot: ["errors", "util", "model", "manifest", "compile", "swap", "sandbox", "persist"],
  host: ["errors", "util", "model", "manifest", "compile", "analysis", "swap", "sandbox", "backends", "persist", "watch", "deploy", "registry", "slot", "fleet"],
  admin: ["errors", "util", "model", "manifest", "compile", "analysis", "persist", "host", "deploy"],
  cli: ["errors", "util", "model", "manifest", "compile", "analysis", "persist", "host", "admin", "watch", "sandbox", "deploy", "registry", "fleet"],
};

/** Folder of a file relative to engine/src ("" for files at the root). */
export function folderOf(relFile) {
  const parts = relFile.split("/");
  return parts.length > 1 ? parts[0] : "";
}

function listSources(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) listSources(full, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith(".test.ts") && !name.endsWith(".test-kit.ts")) out.push(full);
  }
  return out;
}

/**
 * Map from each source file (relative to `srcDir`, "/"-separated) to the engine files it imports.
 * Unit tests (*.test.ts) and their fakes (*.test-kit.ts) are left out: no source imports them and they are not shipped.
 */
export function buildImportGraph(srcDir = ENGINE_SRC) {
  const graph = new Map();
  for (const file of listSources(srcDir)) {
    const rel = path.relative(srcDir, file).split(path.sep).join("/");
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = new Set();
    for (const ref of info.importedFiles) {
      const spec = ref.fileName;
      if (!spec.startsWith(".")) continue; // packages and node: builtins
      // NodeNext: relative imports name the emitted .js file.
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts"));
      // engine/runtime (the prelude's own tsconfig) is another package: sandbox/ imports only its
      // types (prelude-api.ts), which the prelude imports nothing back from.
      if (target.startsWith(ENGINE_RUNTIME)) continue;
      targets.add(path.relative(srcDir, target).split(path.sep).join("/"));
    }
    graph.set(rel, [...targets].sort());
  }
  return graph;
}

/** Strongly connected components with more than one member (or a self-import): the cycles. */
export function findCycles(graph) {
  let index = 0;
  const indexOf = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (node) => {
    indexOf.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), indexOf.get(next)));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indexOf.has(node)) visit(node);
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

/** The folder graph: folder -> folders it imports (other than itself). */
export function folderGraph(graph) {
  const folders = new Map();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    if (!folders.has(from)) folders.set(from, new Set());
    for (const target of targets) {
      const to = folderOf(target);
      if (to !== from) folders.get(from).add(to);
    }
  }
  return new Map([...folders].map(([k, v]) => [k, [...v].sort()]));
}

/** Every import that crosses folders against FOLDER_DEPS, as "from/file.ts -> to/file.ts". */
export function folderViolations(graph, allowed = FOLDER_DEPS) {
  const out = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    if (from === "") continue; // index.ts: the public surface re-exports every layer
    for (const target of targets) {
      const to = folderOf(target);
      if (to === from) continue;
      const ok = Object.hasOwn(allowed, from) && allowed[from].includes(to);
      if (!ok) out.push(`${file} -> ${target}`);
    }
  }
  return out.sort();
}

/** Folders present in engine/src but absent from the table (a new folder needs a rule). */
export function unknownFolders(graph, allowed = FOLDER_DEPS) {
  const folders = new Set([...graph.keys()].map(folderOf).filter((f) => f !== ""));
  return [...folders].filter((f) => !Object.hasOwn(allowed, f)).sort();
}

function main() {
  const graph = buildImportGraph();
  const fileCycles = findCycles(graph);
  const folderCycles = findCycles(folderGraph(graph));
  const violations = folderViolations(graph);
  const unknown = unknownFolders(graph);
  for (const c of fileCycles) console.log(`file cycle: ${c.join(" <-> ")}`);
  for (const c of folderCycles) console.log(`folder cycle: ${c.join(" <-> ")}`);
  for (const v of violations) console.log(`folder rule: ${v}`);
  for (const f of unknown) console.log(`folder without a rule in FOLDER_DEPS: ${f}`);
  const bad = fileCycles.length + folderCycles.length + violations.length + unknown.length;
  console.log(bad === 0 ? `import graph ok: ${graph.size} files` : `${bad} import problem(s)`);
  process.exitCode = bad === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();

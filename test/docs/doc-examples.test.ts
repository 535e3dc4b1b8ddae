/**
 * "Docs pages have examples that a test compiles": every ```ts block of README.md and docs/*.md is
 * type-checked, strict, against the BUILT packages (`modhost`, `@modhost/sdk`, `@modhost/sdk/testing`
 * as the workspace's node_modules resolve them). docs/mod-authors.md has its own, deeper test
 * (test/sdk/mod-authors-doc.test.ts) and is left to it.
 *
 * Each block compiles ON ITS OWN, as a reader would paste it: no hidden preamble. A block that uses a
 * name declares it in the doc (`const modsDir = "./mods";`). Where a block runs:
 * - mod code (every import is from `@modhost/sdk`): the sandbox's environment (ES2023, no Node);
 * - anything else (the game's side, tests, fragments without imports): Node's types, NodeNext.
 * A block that is deliberately not compilable is preceded by `<!-- compile: skip (reason) -->`
 * (a reason is required); use it sparingly.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, typeCheckFiles, type CodeEnvironment, type FoundDiagnostic } from "../sdk/type-check-files.js";

/** Checked by test/sdk/mod-authors-doc.test.ts, with the guide's own game declarations. */
const OWN_TEST = new Set(["docs/mod-authors.md"]);
const SKIP = /<!--\s*compile:\s*skip\s*\(([^)]*)\)\s*-->\s*$/;

interface Example {
  /** The markdown file, relative to the repository root. */
  readonly doc: string;
  /** The line of the opening fence, 1-based. */
  readonly line: number;
  readonly text: string;
  /** The reason given by a `<!-- compile: skip (reason) -->` right before the block. */
  readonly skip: string | undefined;
}

const DOCS = ["README.md", ...readdirSync(join(REPO_ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]
  .filter((doc) => !OWN_TEST.has(doc))
  .sort();

/** The ```ts blocks of a markdown text, with the line of their fence and a skip marker before them. */
function tsBlocks(doc: string, markdown: string): Example[] {
  const out: Example[] = [];
  const fence = /^```(\w*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (const match of markdown.matchAll(fence)) {
    if (match[1] !== "ts") continue;
    const before = markdown.slice(0, match.index);
    const line = before.split("\n").length;
    // The marker may be separated from the fence by blank lines, nothing else.
    const skip = SKIP.exec(before.trimEnd())?.[1]?.trim();
    out.push({ doc, line, text: match[2] ?? "", skip });
  }
  return out;
}

const EXAMPLES = DOCS.flatMap((doc) => tsBlocks(doc, readFileSync(join(REPO_ROOT, doc), "utf8")));

/** Mod code imports only the SDK (or its own files); anything else is the game's side or a test. */
function environment(text: string): CodeEnvironment {
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm)].map((m) => m[1] ?? m[2] ?? "");
  const modSide = specifiers.length > 0 && specifiers.every((s) => s === "@modhost/sdk" || s.startsWith("./"));
  return modSide ? "sandbox" : "node";
}

/** A file name per block that says where it comes from: `README.md:18` -> `README.md-L18.ts`. */
const fileName = (e: Example) => `${e.doc.replace(/\//g, "__")}-L${e.line}.ts`;

/** Diagnostics of one block, as `doc:line` lines of the markdown file (fence line + line in the block). */
function check(example: Example): string[] {
  const found: FoundDiagnostic[] = typeCheckFiles({ [fileName(example)]: example.text }, environment(example.text));
  return found.map((d) => `${example.doc}:${example.line + d.line} (block at line ${example.line}) TS${d.code} ${d.message}`);
}

describe("docs: every ```ts example compiles", () => {
  it("finds the examples (README.md, docs/fleet.md, docs/distribution.md, docs/modder-loop.md at least)", () => {
    for (const doc of ["README.md", "docs/fleet.md", "docs/distribution.md", "docs/modder-loop.md"]) {
      expect(EXAMPLES.some((e) => e.doc === doc), `${doc} has no \`\`\`ts block`).toBe(true);
    }
    for (const e of EXAMPLES.filter((x) => x.skip !== undefined)) {
      expect(e.skip, `${e.doc}:${e.line}: compile: skip needs a reason`).not.toBe("");
    }
  });

  it.each(EXAMPLES.filter((e) => e.skip === undefined).map((e) => [`${e.doc}:${e.line} (${environment(e.text)})`, e] as const))(
    "%s",
    (name, example) => {
      expect(check(example), `${name}: the block at line ${example.line} of ${example.doc} does not compile`).toEqual([]);
    },
  );
});

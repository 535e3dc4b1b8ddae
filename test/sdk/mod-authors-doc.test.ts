/**
 * docs/mod-authors.md cannot rot: every ```ts block is type-checked (mod code in the sandbox's
 * environment, tests under Node, both against the guide's own game declarations), every mod.json
 * is validated, the guide's mod is loaded into the real sandbox and swapped to its version 2, and
 * every error code the guide names exists.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, parseManifest } from "modhost";
import { loadMod, MOD_TEST_ERROR_CODES, type LoadedMod } from "@modhost/sdk/testing";
import { REPO_ROOT, typeCheckFiles } from "./type-check-files.js";

interface Block {
  readonly lang: string;
  readonly title: string | undefined;
  readonly text: string;
  readonly line: number;
}

const GUIDE = join(REPO_ROOT, "docs", "mod-authors.md");
let guide: string;
let blocks: Block[];

/** The fenced code blocks of a markdown text, with their language and `title="..."`. */
function codeBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  const fence = /^```(\w*)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (const match of markdown.matchAll(fence)) {
    const title = /title="([^"]+)"/.exec(match[2] ?? "")?.[1];
    out.push({ lang: match[1] ?? "", title, text: match[3] ?? "", line: markdown.slice(0, match.index).split("\n").length });
  }
  return out;
}

const ts = () => blocks.filter((b) => b.lang === "ts");
const isTest = (b: Block) => b.title?.includes("/test/") === true;
const declarations = () => ts().filter((b) => b.title?.endsWith(".d.ts"));
const files = (list: readonly Block[]) => Object.fromEntries(list.map((b) => [b.title as string, b.text]));

beforeAll(async () => {
  guide = await readFile(GUIDE, "utf8");
  blocks = codeBlocks(guide);
});

describe("docs/mod-authors.md", () => {
  it("has titled TypeScript examples: mod code, the game's declarations and a test", () => {
    expect(ts().length).toBeGreaterThanOrEqual(6);
    for (const block of ts()) expect(block.title, `the ts block at line ${block.line} needs title="path"`).toBeDefined();
    expect(declarations()).toHaveLength(1);
    expect(ts().filter(isTest)).toHaveLength(1);
  });

  it("every mod example type-checks in the sandbox's environment (expected errors marked @ts-expect-error)", () => {
    const mods = files(ts().filter((b) => !isTest(b)));
    // Version 2 keeps version 1's rules.ts, as the guide says.
    mods["mods/scoreboard-v2/rules.ts"] = mods["mods/scoreboard/rules.ts"] ?? "";
    expect(typeCheckFiles(mods, "sandbox")).toEqual([]);
  });

  it("the test example type-checks under Node against @modhost/sdk/testing", () => {
    expect(typeCheckFiles(files([...declarations(), ...ts().filter(isTest)]), "node")).toEqual([]);
  });

  it("every mod.json example is a valid manifest", () => {
    const manifests = blocks.filter((b) => b.lang === "json" && b.title?.endsWith("mod.json"));
    expect(manifests.length).toBeGreaterThan(0);
    for (const block of manifests) expect(parseManifest(block.text), `mod.json at line ${block.line}`).toMatchObject({ ok: true });
  });

  it("names only error codes that exist, and lists exactly the harness's codes", () => {
    const named = new Set(guide.match(/\bE_[A-Z_]+\b/g));
    for (const code of named) expect(code in ERROR_CODES || code in MOD_TEST_ERROR_CODES, `${code} is not an error code`).toBe(true);
    const table = guide.slice(guide.indexOf("| `E_MOD_FOLDER`"));
    const rows = [...table.slice(0, table.indexOf("\n\n")).matchAll(/^\| `(E_[A-Z_]+)`/gm)].map((m) => m[1]);
    expect(rows).toEqual(Object.keys(MOD_TEST_ERROR_CODES));
  });
});

describe("the guide's scoreboard mod, in the real sandbox", () => {
  let work: string;
  let mod: LoadedMod | undefined;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "modhost-guide-"));
    const write = async (path: string, text: string) => {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), text);
    };
    for (const block of blocks) {
      if (block.title === undefined || isTest(block) || block.title.startsWith("examples/")) continue;
      await write(block.title, block.text);
    }
    // Version 2, as the guide describes it: mod.json says 2.0.0, rules.ts is unchanged.
    const manifest = JSON.parse(await readFile(join(work, "mods/scoreboard/mod.json"), "utf8")) as Record<string, unknown>;
    await write("mods/scoreboard-v2/mod.json", JSON.stringify({ ...manifest, version: "2.0.0" }));
    await cp(join(work, "mods/scoreboard/rules.ts"), join(work, "mods/scoreboard-v2/rules.ts"));
  });
  afterAll(async () => {
    await mod?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("loads, handles hits as the guide says, and swaps to version 2 through migrate()", async () => {
    mod = await loadMod(join(work, "mods/scoreboard"), { modTypes: [join(work, "game/mod-types.d.ts")] });
    // Typed by the guide's declarations in the guide's own test; this program does not include them.
    const first = (await mod.value("hit", { attacker: "ann", target: "bob", damage: 5 })) as { damage: number; critical: boolean };
    expect([{ damage: 5, critical: false }, { damage: 10, critical: true }]).toContainEqual(first);
    expect(await mod.state()).toEqual({ damage: { ann: first.damage } });
    const report = await mod.swapTo(join(work, "mods/scoreboard-v2"));
    expect(report).toMatchObject({ ok: true, kind: "swap", from: "1.0.0", to: "2.0.0" });
    expect(report.changes).toContainEqual({ kind: "added", path: "migrate" });
    expect(await mod.state()).toEqual({ players: { ann: { damage: first.damage, hits: 0, criticals: 0 } } });
    await mod.value("hit", { attacker: "ann", target: "bob", damage: 1 });
    expect(await mod.state()).toMatchObject({ players: { ann: { hits: 1 } } });
  });
});

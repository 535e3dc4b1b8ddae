import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileMod, type ModSourceInput } from "./compile-mod.js";
import { DiskCompileCache } from "./disk-cache.js";

// The in-memory compile cache is process-wide: a unique marker per mod keeps tests from sharing it.
function tenFileMod(): ModSourceInput {
  const marker = `// ${randomUUID()}\n`;
  const files = new Map<string, string>();
  const imports: string[] = [];
  for (let i = 1; i < 10; i++) {
    files.set(`lib/part${i}.ts`, `${marker}export interface Part${i} { readonly n: number }\nexport function part${i}(x: number): Part${i} {\n  return { n: x * ${i} };\n}\n`);
    imports.push(`import { part${i} } from "./lib/part${i}.js";`);
  }
  files.set("main.ts", `${marker}import { defineMod } from "@modhost/sdk";\n${imports.join("\n")}\nexport default defineMod({ init: () => ({ total: part1(1).n + part9(2).n }) });\n`);
  return { modName: "ten", entry: "main.ts", files };
}

const entryFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith(".json"));

describe("DiskCompileCache", () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "modhost-disk-cache-"));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  const freshDir = (): string => join(root, randomUUID());

  it("serves a second cache on the same folder (a new process) from disk, same output", async () => {
    const dir = freshDir();
    const input = tenFileMod();
    const first = await DiskCompileCache.open(dir);
    const compiled = await compileMod(input, { diskCache: first });
    expect(compiled.ok).toBe(true);
    expect(first.stats()).toMatchObject({ diskHits: 0, misses: 10, writes: 10, corrupt: 0, errors: 0, entries: 10 });
    expect(entryFiles(dir)).toHaveLength(10);

    // Compiling again in the same process is answered from the cache's memory.
    await compileMod(input, { diskCache: first });
    expect(first.stats()).toMatchObject({ memoryHits: 10, misses: 10 });

    const second = await DiskCompileCache.open(dir);
    expect(second.stats()).toMatchObject({ entries: 10 });
    const again = await compileMod(input, { diskCache: second });
    expect(second.stats()).toMatchObject({ diskHits: 10, misses: 0, writes: 0 });
    expect(again).toEqual(compiled);
  });

  it("keeps the safety rules' findings in the cached entry", async () => {
    const dir = freshDir();
    const input: ModSourceInput = { modName: "evil", entry: "main.ts", files: new Map([["main.ts", `// ${randomUUID()}\nexport const run = (s: string) => eval(s);\n`]]) };
    const first = await compileMod(input, { diskCache: await DiskCompileCache.open(dir) });
    const second = await DiskCompileCache.open(dir);
    const cached = await compileMod(input, { diskCache: second });
    expect(second.stats().diskHits).toBe(1);
    expect(cached.ok).toBe(false);
    expect(cached.diagnostics).toEqual(first.diagnostics);
    expect(cached.diagnostics).toMatchObject([{ code: "E_UNSAFE_CODE", file: "main.ts", line: 2 }]);
  });

  it("ignores a corrupt entry (garbage, a flipped byte, a wrong key) and rewrites it", async () => {
    const dir = freshDir();
    const input = tenFileMod();
    const expected = await compileMod(input, { diskCache: await DiskCompileCache.open(dir) });
    const [garbage, flipped, swapped, other] = entryFiles(dir).map((name) => join(dir, name));
    if (garbage === undefined || flipped === undefined || swapped === undefined || other === undefined) throw new Error("expected entries");
    writeFileSync(garbage, "not an entry at all");
    const text = readFileSync(flipped, "utf8");
    writeFileSync(flipped, `${text.slice(0, -2)}X${text.slice(-1)}`);
    writeFileSync(swapped, readFileSync(other, "utf8"));

    const errors: Error[] = [];
    const second = await DiskCompileCache.open(dir, { onError: (e) => errors.push(e) });
    const result = await compileMod(input, { diskCache: second });
    expect(result).toEqual(expected);
    expect(second.stats()).toMatchObject({ corrupt: 3, misses: 3, writes: 3, diskHits: 7, errors: 0, entries: 10 });
    expect(errors).toEqual([]);

    const third = await DiskCompileCache.open(dir);
    await compileMod(input, { diskCache: third });
    expect(third.stats()).toMatchObject({ diskHits: 10, corrupt: 0, misses: 0 });
  });

  it("records unexpected I/O errors instead of throwing them into the compile", async () => {
    const dir = freshDir();
    const input = tenFileMod();
    await compileMod(input, { diskCache: await DiskCompileCache.open(dir) });
    // main.ts's entry path becomes a folder: it can be neither read (EISDIR) nor replaced.
    const main = entryFiles(dir).find((name) => readFileSync(join(dir, name), "utf8").includes("defineMod"));
    if (main === undefined) throw new Error("no entry for main.ts");
    rmSync(join(dir, main));
    mkdirSync(join(dir, main));

    const errors: Error[] = [];
    const cache = await DiskCompileCache.open(dir, { onError: (e) => errors.push(e) });
    const result = await compileMod(input, { diskCache: cache });
    expect(result.ok).toBe(true);
    expect(cache.stats()).toMatchObject({ diskHits: 9, misses: 1, writes: 0, errors: 2 });
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(["EISDIR", "EISDIR"]);
    expect(cache.errors).toEqual(errors);

    // Then the whole folder disappears under the cache: every write fails, every compile works.
    rmSync(dir, { recursive: true, force: true });
    expect((await compileMod(tenFileMod(), { diskCache: cache })).ok).toBe(true);
    expect(cache.stats()).toMatchObject({ misses: 11, writes: 0, errors: 12 });
    expect(errors.slice(2).map((e) => (e as NodeJS.ErrnoException).code)).toEqual(Array(10).fill("ENOENT"));
  });

  it("rejects open when the folder cannot be created", async () => {
    const file = join(root, `file-${randomUUID()}`);
    writeFileSync(file, "");
    await expect(DiskCompileCache.open(join(file, "cache"))).rejects.toMatchObject({ code: "ENOTDIR" });
  });

  it("stays within maxEntries, evicting the least recently used", async () => {
    const dir = freshDir();
    const cache = await DiskCompileCache.open(dir, { maxEntries: 4 });
    await compileMod(tenFileMod(), { diskCache: cache });
    expect(cache.stats()).toMatchObject({ writes: 10, evicted: 6, entries: 4 });
    expect(entryFiles(dir)).toHaveLength(4);
    // Opening with a smaller bound trims what is there.
    const smaller = await DiskCompileCache.open(dir, { maxEntries: 2 });
    expect(smaller.stats()).toMatchObject({ evicted: 2, entries: 2 });
    expect(entryFiles(dir)).toHaveLength(2);
  });

  it("stays within maxBytes", async () => {
    const dir = freshDir();
    const cache = await DiskCompileCache.open(dir, { maxBytes: 3000 });
    await compileMod(tenFileMod(), { diskCache: cache });
    const onDisk = entryFiles(dir).reduce((sum, name) => sum + readFileSync(join(dir, name)).length, 0);
    expect(onDisk).toBeLessThanOrEqual(3000);
    expect(cache.stats().bytes).toBe(onDisk);
    expect(cache.stats().evicted).toBeGreaterThan(0);
  });

  it("keys by compile revision, SDK version, path and text", async () => {
    const cache = await DiskCompileCache.open(freshDir(), { sdkVersion: "1.0.0" });
    const other = await DiskCompileCache.open(freshDir(), { sdkVersion: "2.0.0" });
    const base = cache.key("r1", "a.ts", "x");
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(cache.key("r1", "a.ts", "x")).toBe(base);
    for (const key of [cache.key("r2", "a.ts", "x"), cache.key("r1", "b.ts", "x"), cache.key("r1", "a.ts", "y"), other.key("r1", "a.ts", "x")]) {
      expect(key).not.toBe(base);
    }
  });
});

// A fresh Node process per compile, on the built engine: what a cold start really does.
const DIST = fileURLToPath(new URL("../../dist/compile/", import.meta.url));
const CHILD = `
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const start = performance.now();
const [dist, cacheDir, inputFile] = process.argv.slice(2);
const { compileMod } = await import(dist + "compile-mod.js");
const { DiskCompileCache } = await import(dist + "disk-cache.js");
const input = JSON.parse(readFileSync(inputFile, "utf8"));
const diskCache = cacheDir === "-" ? undefined : await DiskCompileCache.open(cacheDir);
const result = await compileMod({ ...input, files: new Map(input.files) }, diskCache === undefined ? {} : { diskCache });
const ms = performance.now() - start;
const typescriptLoaded = Object.keys(createRequire(import.meta.url).cache).some((f) => /typescript[\\\\/]lib[\\\\/]typescript\\.js$/.test(f));
console.log(JSON.stringify({ ms, ok: result.ok, hash: result.hash, modules: result.modules.length, typescriptLoaded, stats: diskCache?.stats() }));
`;

interface ChildReport {
  readonly ms: number;
  readonly ok: boolean;
  readonly hash: string;
  readonly modules: number;
  readonly typescriptLoaded: boolean;
  readonly stats?: { readonly diskHits: number; readonly misses: number; readonly writes: number };
}

describe("DiskCompileCache across processes", () => {
  let root: string;
  let script: string;
  let inputFile: string;
  beforeAll(() => {
    if (!existsSync(join(DIST, "disk-cache.js"))) throw new Error(`${DIST}disk-cache.js is missing: run npm run build first`);
    root = mkdtempSync(join(tmpdir(), "modhost-disk-cache-child-"));
    script = join(root, "child.mjs");
    writeFileSync(script, CHILD);
    inputFile = join(root, "input.json");
    const input = tenFileMod();
    writeFileSync(inputFile, JSON.stringify({ ...input, files: [...input.files] }));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  const run = (cacheDir: string): ChildReport => JSON.parse(execFileSync(process.execPath, [script, DIST, cacheDir, inputFile], { encoding: "utf8" })) as ChildReport;

  it("a second process compiles from the disk cache without loading TypeScript", () => {
    const cacheDir = join(root, "cache");
    const cold = run(cacheDir);
    expect(cold).toMatchObject({ ok: true, modules: 10, typescriptLoaded: true, stats: { diskHits: 0, misses: 10, writes: 10 } });
    const warm = run(cacheDir);
    expect(warm).toMatchObject({ ok: true, modules: 10, typescriptLoaded: false, stats: { diskHits: 10, misses: 0, writes: 0 } });
    expect(warm.hash).toBe(cold.hash);
    expect(run("-").hash).toBe(cold.hash);
  });

  // MODHOST_BENCH=1 npx vitest run engine/src/compile/disk-cache.test.ts
  it.runIf(process.env["MODHOST_BENCH"] !== undefined)("benchmark: cold compile of a 10-file mod, fresh processes", () => {
    const rounds = 7;
    const series = { none: [] as number[], empty: [] as number[], warm: [] as number[] };
    const processes = { none: [] as number[], empty: [] as number[], warm: [] as number[] };
    const timed = (kind: keyof typeof series, cacheDir: string): void => {
      const start = performance.now();
      const report = run(cacheDir);
      processes[kind].push(performance.now() - start);
      series[kind].push(report.ms);
    };
    for (let i = 0; i < rounds; i++) {
      const cacheDir = join(root, `bench-${i}`);
      timed("none", "-");
      timed("empty", cacheDir);
      timed("warm", cacheDir);
    }
    const median = (xs: number[]): string => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]?.toFixed(1) ?? "?";
    for (const kind of ["none", "empty", "warm"] as const) {
      console.log(`10-file mod, ${kind} disk cache: median of ${rounds}: ${median(series[kind])} ms in the process (import engine, open cache, compileMod), ${median(processes[kind])} ms the whole process`);
    }
  });
});

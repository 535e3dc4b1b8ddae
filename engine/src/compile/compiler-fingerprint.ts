import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

let memo: string | undefined;

/**
 * sha256 (hex) of the engine code that turns a mod file into a `FileCompilation`: every module of
 * the `compile/` and `analysis/` folders this module is in (the `.js` of a build, or the `.ts`
 * sources under a test runner; tests excluded).
 *
 * Why it is part of the disk cache's key: a cached entry carries the safety rules' verdict, and
 * an engine upgrade that adds a rule must not be answered with an older engine's "no findings".
 * The compile revision constant covers deliberate output changes; this covers forgetting to bump
 * it. Computed once per process (a few ms).
 */
export function compilerFingerprint(): string {
  if (memo === undefined) {
    const self = fileURLToPath(import.meta.url);
    const extension = extname(self);
    const compileDir = dirname(self);
    const hash = createHash("sha256");
    for (const dir of [compileDir, join(compileDir, "..", "analysis")]) {
      const names = readdirSync(dir)
        .filter((name) => name.endsWith(extension) && !name.endsWith(`.d${extension}`) && !name.includes(".test."))
        .sort();
      for (const name of names) {
        const text = readFileSync(join(dir, name));
        hash.update(`${dir === compileDir ? "compile" : "analysis"}/${name}\0${text.length}\0`);
        hash.update(text);
      }
    }
    memo = hash.digest("hex");
  }
  return memo;
}

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERROR_HINTS, errorDocsLink, errorHint } from "modhost";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("docs: error codes", () => {
  it("docs/errors.md lists every error code (regenerate with node docs/generate-errors.mjs)", () => {
    const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
    const missing = Object.keys(ERROR_CODES).filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it("every error code has a one-line fix hint in engine/src/errors/error-hints.ts", () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => errorHint(code) === undefined);
    // The message names each code to add a hint for (a branch that adds a code adds its hint).
    expect(missing, `add a hint to ERROR_HINTS (engine/src/errors/error-hints.ts) for: ${missing.join(", ")}; then run node docs/generate-errors.mjs`).toEqual([]);
    for (const [code, hint] of Object.entries(ERROR_HINTS)) {
      expect(hint.includes("\n"), `${code}: one line`).toBe(false);
      expect(hint.length, `${code}: a hint, not an essay`).toBeLessThanOrEqual(200);
    }
  });

  it("docs/errors.md is current: a fix column and an anchor per code", () => {
    let stale = "";
    try {
      execFileSync(process.execPath, ["docs/generate-errors.mjs", "--check"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
    } catch (err) {
      stale = String((err as { stderr?: unknown }).stderr ?? err);
    }
    expect(stale, "run node docs/generate-errors.mjs").toBe("");
    const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
    expect(doc).toContain("| code | who acts | meaning | fix |");
    for (const code of Object.keys(ERROR_CODES)) {
      expect(doc, code).toContain(`<a id="${errorDocsLink(code).split("#")[1]}"></a>\`${code}\``);
      expect(doc, code).toContain(ERROR_HINTS[code]?.replace(/\|/g, "\\|"));
    }
  });
});

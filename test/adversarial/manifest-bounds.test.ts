/**
 * Issue 10, finding 6: hostile mod.json files. Before the fix parsing was quadratic (every
 * problem searched the whole text for its line, every permission scanned the ones before it): 20k
 * unknown keys took 6-8 s, a 4 MiB mod.json about half an hour; a deeply nested limit threw a raw
 * RangeError out of the loader; and every offender got its own diagnostic (100k of them).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ModHost, parseManifest } from "modhost";
import { COUNTER_MAIN, makeModsDir, simpleMod, type ModsDir } from "../support/mod-fixture.js";

let host: ModHost | undefined;
let mods: ModsDir | undefined;
afterEach(async () => {
  await host?.close();
  await mods?.cleanup();
  host = mods = undefined;
});

const BASE = { name: "bad", version: "1.0.0", entry: "main.ts" };

/** Hostile manifests, each as mod.json text. */
const HOSTILE: Record<string, string> = {
  "4 MiB of permissions": JSON.stringify({ ...BASE, permissions: Array.from({ length: 400_000 }, (_, i) => `p${i}`) }),
  "5000 unknown keys (inside the size cap)": JSON.stringify({ ...BASE, ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 1])) }),
  "3000 duplicate permissions": JSON.stringify({ ...BASE, permissions: Array.from({ length: 3000 }, () => "same") }),
  "300 permissions": JSON.stringify({ ...BASE, permissions: Array.from({ length: 300 }, (_, i) => `p${i}`) }),
  "a limit nested 100k deep": `{"name":"bad","version":"1.0.0","limits":{"memoryMb":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`,
  "a name nested 100k deep": `{"name":${"{\"a\":".repeat(100_000)}1${"}".repeat(100_000)},"version":"1.0.0"}`,
};

describe("mod.json: hostile manifests are refused quickly with a few coded diagnostics (finding 6)", () => {
  it.each(Object.entries(HOSTILE))("parseManifest: %s", (_, text) => {
    const result = parseManifest(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics.length).toBeGreaterThan(0);
    expect(result.diagnostics.length).toBeLessThanOrEqual(6);
    for (const d of result.diagnostics) {
      expect(d.code).toBe("E_MANIFEST_INVALID");
      expect(d.message.length).toBeLessThan(400);
    }
  });

  it("names the size cap when refusing a large mod.json, and the count when over the permission cap", () => {
    const big = parseManifest(HOSTILE["4 MiB of permissions"]!);
    expect(big).toMatchObject({ ok: false, diagnostics: [{ code: "E_MANIFEST_INVALID", message: expect.stringContaining("64 KiB") }] });
    const many = parseManifest(HOSTILE["300 permissions"]!);
    expect(many).toMatchObject({ ok: false, diagnostics: [{ field: "permissions", message: expect.stringContaining("at most 256") }] });
    const unknown = parseManifest(HOSTILE["5000 unknown keys (inside the size cap)"]!);
    expect(unknown.ok ? [] : unknown.diagnostics.map((d) => d.message)).toContainEqual(expect.stringContaining("4995 more unknown fields"));
  });

  it("the loader refuses each one as a failed mod with E_MANIFEST_INVALID; the other mods keep answering", async () => {
    mods = await makeModsDir({ canary: simpleMod("canary", COUNTER_MAIN) });
    host = await ModHost.create({ modsDir: mods.dir, isolation: "inline", typecheck: "off", probation: false });
    let i = 0;
    for (const [what, text] of Object.entries(HOSTILE)) {
      const folder = `bad${i++}`;
      await mods.write(folder, { "mod.json": text, "main.ts": COUNTER_MAIN });
      const report = await host.load(`${mods.dir}/${folder}`);
      expect(report, what).toMatchObject({ ok: false, error: { code: "E_MANIFEST_INVALID" } });
      expect(await host.emit("hit", { player: "p" }), what).toMatchObject([{ mod: "canary", ok: true, value: i }]);
    }
  }, 120_000);
});

/**
 * Global setup: one folder per test run where hosts remember passed type-checks
 * (MODHOST_TYPECHECK_CACHE, engine/src/host/host-setup.ts), so that each fixture mod's first load
 * is type-checked once per run instead of once per host (a cold TypeScript worker costs about 2 s
 * of CPU per host). Failed checks are never remembered, so every refusal is still checked. Test
 * files that must see a check run set their own cacheDir or remove the variable. The folder is
 * removed when the run ends.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "modhost-test-typecheck-"));
  process.env["MODHOST_TYPECHECK_CACHE"] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
